#include "server/transport/synthetic_cache.h"

#include <utility>

namespace inputserve {

SyntheticBatchCache::SyntheticBatchCache(BatchPtr batch, BatchWireInfo info,
                                         size_t chunk_bytes)
    : batch_(std::move(batch)), info_(info), chunk_bytes_(chunk_bytes) {}

std::shared_ptr<const EncodedBatch> SyntheticBatchCache::Get(
    uint64_t generation) {
  absl::MutexLock lock(&mu_);
  if (encoded_ == nullptr || generation_ != generation) {
    BatchWireInfo info = info_;
    info.mode = ServingMode::kSynthetic;
    info.mode_generation = generation;
    encoded_ = std::make_shared<const EncodedBatch>(
        EncodeBatch(batch_, info, chunk_bytes_));
    generation_ = generation;
    ++encodings_;
  }
  return encoded_;
}

uint64_t SyntheticBatchCache::encodings() const {
  absl::MutexLock lock(&mu_);
  return encodings_;
}

}  // namespace inputserve
