// The deterministic data order on the client: PlanOrder() checks at Create()
// that the servers can serve it and builds the rank's plan; OrderedReader
// then keeps one stream per shard the rank uses, each to one live replica,
// asking from the first step of that shard not yet received and moving to
// another replica (or, after backoff, the same address) when a stream
// breaks. Batches land in the BatchQueue in step order (SetOrdered), which
// bounds how far any shard runs ahead.
// Thread-safety: PlanOrder is a pure function; OrderedReader's Pause,
// Resume and Shutdown may be called from any thread.
#ifndef INPUTSERVE_CLIENT_ORDERED_READER_H_
#define INPUTSERVE_CLIENT_ORDERED_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/transport/batch_stream.h"
#include "client/transport/dataset_probe.h"
#include "client/transport/stream_gate.h"
#include "common/data_order.h"
#include "grpcpp/channel.h"
#include "inputserve/options.h"

namespace inputserve::client_internal {

struct OrderSetup {
  RankPlan plan;
  // Per shard: the targets (indices into the probed names) that serve it.
  std::vector<std::vector<int>> replicas;
  uint64_t end_step = 0;  // First step not served; 0 = no end.
};

// FAILED_PRECONDITION when a target does not serve the deterministic order
// or the targets disagree on the shard count, or replicas of one shard on
// examples per epoch or order fingerprint (each message names the targets);
// UNAVAILABLE listing the shards no target answered for; RankPlan's errors
// (e.g. an epoch with fewer batches than world_size).
absl::StatusOr<OrderSetup> PlanOrder(const ClientOptions& options,
                                     const std::vector<std::string>& names,
                                     const ProbeResult& probe);

// Steps each stream may run ahead of Next(), over all shards: the prefetch
// depth, but at least one per shard the rank uses.
int OrderedWindow(const OrderSetup& setup, int prefetch_batches);

// One replica a shard's stream may call.
struct StreamReplica {
  int target_index = 0;  // TargetHealth index.
  std::string target;
  std::shared_ptr<grpc::Channel> channel;
};

class OrderedReader {
 public:
  // `replicas[s]`: shard s's replicas (empty for shards the rank does not
  // use). `shared.queue` must be in step order; `shared.gate` is ignored.
  OrderedReader(const OrderSetup* setup, const ClientOptions& options,
                std::vector<std::vector<StreamReplica>> replicas,
                BatchStreamShared shared, bool start_paused);
  ~OrderedReader();
  OrderedReader(const OrderedReader&) = delete;
  OrderedReader& operator=(const OrderedReader&) = delete;

  void Pause() { gate_.Pause(); }
  void Resume() { gate_.Resume(); }
  void Shutdown() { gate_.Shutdown(); }

 private:
  StreamGate gate_;
  std::vector<std::unique_ptr<BatchStream>> streams_;  // After the gate.
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_ORDERED_READER_H_
