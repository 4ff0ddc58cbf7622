// BatchStream: one background thread that keeps one StreamBatches call open
// to one target, reassembles chunks into slots of the BatchQueue and pushes
// whole batches ready. Reconnects with backoff after errors; stops reading
// while the StreamGate is paused. Owns its thread; destroy only after
// StreamGate::Shutdown() (the destructor joins).
#ifndef INPUTSERVE_CLIENT_TRANSPORT_BATCH_STREAM_H_
#define INPUTSERVE_CLIENT_TRANSPORT_BATCH_STREAM_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/batch_layout.h"
#include "client/batch_queue.h"
#include "client/client_counters.h"
#include "client/device/backend.h"
#include "client/transport/stream_gate.h"
#include "client/transport/target_health.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace inputserve::client_internal {

struct BatchStreamConfig {
  int target_index = 0;
  std::string target;
  std::string consumer_id;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
};

// Everything a stream shares with the Client; all outlive the stream.
struct BatchStreamShared {
  const BatchLayout* layout = nullptr;
  BatchQueue* queue = nullptr;
  StreamGate* gate = nullptr;
  ClientCounters* counters = nullptr;
  TargetHealth* health = nullptr;
  // Told about real batches' bytes as they arrive, to start device copies
  // early; null: not told.
  DeviceBackend* backend = nullptr;
};

class BatchStream {
 public:
  BatchStream(BatchStreamConfig config, std::shared_ptr<grpc::Channel> channel,
              BatchStreamShared shared);
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

 private:
  void Run();
  // One call, from start to end. `delivered` is set when a batch completed.
  absl::Status RunCall(grpc::ClientContext* context, bool* delivered);

  const BatchStreamConfig config_;
  const std::shared_ptr<grpc::Channel> channel_;
  const BatchStreamShared shared_;
  std::thread thread_;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_BATCH_STREAM_H_
