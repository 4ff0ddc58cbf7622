// SyntheticBatchCache: the synthetic batch, encoded for the wire once and
// shared by every stream.
//
// The cached batch is the pipeline's first batch (the same PayloadBuffer, not
// a copy). It is encoded once per mode generation (the header carries the
// generation); every stream then sends the same reference-counted slices, so
// serving it costs no decode, no serialization and no payload copy.
// This class is thread-safe.
#ifndef INPUTSERVE_SERVER_TRANSPORT_SYNTHETIC_CACHE_H_
#define INPUTSERVE_SERVER_TRANSPORT_SYNTHETIC_CACHE_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/pipeline/prefetch_queue.h"
#include "server/transport/wire.h"

namespace inputserve {

class SyntheticBatchCache {
 public:
  // `batch` is the batch served in synthetic mode.
  SyntheticBatchCache(BatchPtr batch, BatchWireInfo info, size_t chunk_bytes);

  // The encoded batch for `generation` (encoded on first use).
  std::shared_ptr<const EncodedBatch> Get(uint64_t generation);

  const BatchPtr& batch() const { return batch_; }
  // Times the batch was encoded (one per synthetic generation served).
  uint64_t encodings() const;

 private:
  const BatchPtr batch_;
  const BatchWireInfo info_;
  const size_t chunk_bytes_;
  mutable absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<const EncodedBatch> encoded_ ABSL_GUARDED_BY(mu_);
  uint64_t encodings_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TRANSPORT_SYNTHETIC_CACHE_H_
