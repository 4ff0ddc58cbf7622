// BatchStream: one background thread that keeps one StreamBatches call open
// to one target, reassembles chunks into slots of the BatchQueue and pushes
// whole batches ready. Reconnects with backoff after errors; stops reading
// while the StreamGate is paused. A StreamPlan, when given, chooses each
// call's target and request instead (deterministic streams: failover between
// replicas, asking from the first missing step). Owns its thread; destroy
// only after StreamGate::Shutdown() (the destructor joins).
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
#include "inputserve/v1/input_service.pb.h"

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

// What a stream asks whom, call after call. Used by the stream's thread only.
class StreamPlan {
 public:
  struct Call {
    int target_index = 0;
    std::string target;
    std::shared_ptr<grpc::Channel> channel;
    v1::StreamBatchesRequest request;
  };
  virtual ~StreamPlan() = default;
  // The next call; false when nothing is left to ask for (the stream ends).
  virtual bool NextCall(Call* call) = 0;
  // A batch `header` with `rows` examples begins: checks it is the one
  // expected and returns its slot (nullptr once the client stops accepting).
  virtual absl::StatusOr<Slot*> Acquire(const v1::BatchHeader& header,
                                        int rows) = 0;
  // The call ended with `status` (`cancelled`: on purpose, by the gate);
  // returns how long to wait before the next call.
  virtual absl::Duration Ended(const absl::Status& status, bool delivered,
                               bool cancelled) = 0;
  // Whether batches may be short (fewer examples than the batch size).
  virtual bool allow_short() const { return false; }
};

class BatchStream {
 public:
  BatchStream(BatchStreamConfig config, std::shared_ptr<grpc::Channel> channel,
              BatchStreamShared shared);
  BatchStream(std::unique_ptr<StreamPlan> plan, BatchStreamShared shared);
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

 private:
  void Run();
  // One call, from start to end. `delivered` is set when a batch completed.
  absl::Status RunCall(grpc::ClientContext* context,
                       const StreamPlan::Call& call, bool* delivered);

  const std::unique_ptr<StreamPlan> plan_;
  const BatchStreamShared shared_;
  std::thread thread_;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_BATCH_STREAM_H_
