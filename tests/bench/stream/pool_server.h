// PoolServer: the real inputserve data plane (InputServiceImpl, its
// SyntheticBatchCache, ModeController and PrefetchQueue, a gRPC server on
// 127.0.0.1) in this process, fed from a pool of payloads built once at
// start, so what a benchmark measures is the transport and nothing upstream.
//
// A Pipeline is still created (InputServiceImpl takes batches from its
// queue): it builds the first batch, which the synthetic cache serves, then
// its decoder blocks until shutdown. A feeder thread pushes REAL batches whose
// payloads are pool buffers (shared, never copied) with fresh sequence
// numbers; the queue's bound makes it idle while the streams are slow.
// This class is thread-safe.
#ifndef INPUTSERVE_TESTS_BENCH_STREAM_POOL_SERVER_H_
#define INPUTSERVE_TESTS_BENCH_STREAM_POOL_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "server/mode_controller.h"
#include "server/pipeline/batch.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace inputserve {

class InputServiceImpl;
class Pipeline;
class ServerMetrics;
class SyntheticBatchCache;

namespace bench {

struct PoolServerOptions {
  // Example shape: an H x W x 3 uint8 image and an int32 label, so a batch
  // carries batch_size * (H*W*3 + 4) payload bytes.
  int batch_size = 16;
  int height = 31;
  int width = 44;
  int pool_size = 4;         // Distinct payload buffers fed in turn.
  int prefetch_batches = 4;  // PrefetchQueue capacity.
  size_t chunk_bytes = 1 << 20;
  ServingMode mode = ServingMode::kReal;
  int max_streams = 64;
  // Extra gRPC server channel arguments (integer valued), for tuning runs.
  std::vector<std::pair<std::string, int>> channel_args;
};

class PoolServer {
 public:
  static absl::StatusOr<std::unique_ptr<PoolServer>> Create(
      const PoolServerOptions& options);
  ~PoolServer();
  PoolServer(const PoolServer&) = delete;
  PoolServer& operator=(const PoolServer&) = delete;

  int port() const { return port_; }
  std::string target() const;
  size_t payload_bytes() const { return payload_bytes_; }
  void SetMode(ServingMode mode);
  // inputserve_bytes_sent_total over both modes (whole batches only).
  double bytes_sent() const;
  int active_streams() const;
  const SyntheticBatchCache& cache() const { return *cache_; }
  // The payload buffer the synthetic cache serves.
  const PayloadBuffer& synthetic_payload() const;
  // The payload of REAL batch `sequence` (0 is the pipeline's first batch,
  // later ones cycle through the pool).
  const PayloadBuffer& payload_for(uint64_t sequence) const;
  int pool_size() const { return static_cast<int>(pool_.size()); }

 private:
  class BlockingDataset;
  PoolServer() = default;
  absl::Status Start(const PoolServerOptions& options);
  void FeedLoop(std::vector<TensorLayout> layouts);
  void Shutdown();

  bool shut_down_ = false;  // Shutdown() runs from one thread only.
  int port_ = 0;
  size_t payload_bytes_ = 0;
  // Unblocks the pipeline's decoder at shutdown (shared with it).
  std::shared_ptr<absl::Notification> release_decoder_ =
      std::make_shared<absl::Notification>();
  std::vector<std::shared_ptr<const PayloadBuffer>> pool_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<ModeController> mode_;
  std::unique_ptr<SyntheticBatchCache> cache_;
  std::unique_ptr<InputServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::thread feeder_;
};

}  // namespace bench
}  // namespace inputserve

#endif  // INPUTSERVE_TESTS_BENCH_STREAM_POOL_SERVER_H_
