// InputServiceImpl: the gRPC shell of the data plane (GetDatasetInfo,
// StreamBatches, WatchMode) over the pipeline, the mode controller and the
// synthetic cache.
//
// Methods are raw (ByteBuffer) callback methods: batches go out as zero-copy
// slices (see wire.h), and bad request bytes get INVALID_ARGUMENT. Each stream
// has one write in flight, which gives backpressure for free. Arrival streams:
// in REAL mode each batch goes to exactly one stream; a batch whose write fails
// goes back to the front of the queue for the next stream. Deterministic
// streams get exactly the batches of their (rank, world_size) steps that fall
// on this shard, built for them by an OrderedBatchProducer; in SYNTHETIC mode
// they get the cached batch carrying the next real step, which stays unsent.
// This class is thread-safe.
#ifndef INPUTSERVE_SERVER_TRANSPORT_INPUT_SERVICE_H_
#define INPUTSERVE_SERVER_TRANSPORT_INPUT_SERVICE_H_

#include <cstddef>
#include <memory>
#include <set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "inputserve/v1/input_service.grpc.pb.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/mode_controller.h"
#include "server/pipeline/epoch_plan.h"
#include "server/pipeline/ordered_batches.h"
#include "server/pipeline/pipeline.h"
#include "server/transport/synthetic_cache.h"
#include "server/transport/wire.h"

namespace inputserve {

class InputServiceImpl final
    : public v1::InputService::WithRawCallbackMethod_GetDatasetInfo<
          v1::InputService::WithRawCallbackMethod_StreamBatches<
              v1::InputService::WithRawCallbackMethod_WatchMode<
                  v1::InputService::CallbackService>>> {
 public:
  struct Options {
    // Checks every call's bearer token; null accepts every caller. Must
    // outlive the service.
    const TokenAuthenticator* auth = nullptr;
    size_t chunk_bytes = 1 << 20;
    int max_streams = 64;
    BatchWireInfo wire;     // Shard fields for batch headers.
    v1::DatasetInfo info;   // Static part of GetDatasetInfo.
    // The shard's deterministic order; null when the dataset has none
    // (deterministic streams are then refused). Must outlive the service.
    EpochPlan* epochs = nullptr;
  };

  // All pointers must outlive the service.
  InputServiceImpl(Pipeline* pipeline, ModeController* mode,
                   SyntheticBatchCache* cache, ServerMetrics* metrics,
                   Options options);
  ~InputServiceImpl() override;

  // All three methods are raw (see ParseRequest in wire.h).
  grpc::ServerUnaryReactor* GetDatasetInfo(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamBatches(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchMode(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;

  // Refuses new calls with UNAVAILABLE and ends every open stream with
  // UNAVAILABLE after the batch it is writing.
  void Drain();
  // Waits until every stream has ended; false at the deadline.
  bool WaitForStreams(absl::Time deadline);
  int active_streams() const;

 private:
  class BatchStreamReactor;
  class ModeWatchReactor;
  friend class BatchStreamReactor;
  friend class ModeWatchReactor;

  // OK, or UNAUTHENTICATED (counted) when the call lacks the data token.
  grpc::Status Authenticate(const grpc::CallbackServerContext& context,
                            const char* rpc);
  void Unregister(BatchStreamReactor* stream);
  void Unregister(ModeWatchReactor* watch);
  // Checks a deterministic request and starts its producer: the stream's
  // state, or the status to end it with at once (OK for a rank with no step
  // on this shard).
  struct OrderedStart;
  absl::StatusOr<std::unique_ptr<OrderedStart>> StartOrdered(
      const v1::StreamBatchesRequest& request);
  // A finished deterministic stream's producer: cancelled at once (maybe on
  // its own thread), joined later by ReapProducers() or the destructor.
  void Retire(std::shared_ptr<OrderedBatchProducer> producer);
  void ReapProducers();

  Pipeline* const pipeline_;
  ModeController* const mode_;
  SyntheticBatchCache* const cache_;
  ServerMetrics* const metrics_;
  const Options options_;

  mutable absl::Mutex mu_;
  std::set<BatchStreamReactor*> streams_ ABSL_GUARDED_BY(mu_);
  std::set<ModeWatchReactor*> watches_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::shared_ptr<OrderedBatchProducer>> retired_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TRANSPORT_INPUT_SERVICE_H_
