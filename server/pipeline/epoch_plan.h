// EpochPlan: the deterministic order of one shard's records. For each epoch a
// true shuffle (Fisher-Yates) of every record the shard owns, drawn from a
// generator seeded by (seed, epoch, shard_index, num_shards) alone, so every
// replica of the shard computes the same order. Batch (epoch, index, size)
// holds examples [index * B, index * B + size) of that order.
//
// Memory: 4 bytes per shard record per cached epoch (the permutation holds
// shard positions as uint32); the last kCachedEpochs epochs are kept, since
// streams straddle epoch boundaries. ImageNet (1.28 M records, one shard):
// about 5 MB per epoch. Thread-safe.
#ifndef INPUTSERVE_SERVER_PIPELINE_EPOCH_PLAN_H_
#define INPUTSERVE_SERVER_PIPELINE_EPOCH_PLAN_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/sources/dataset.h"

namespace inputserve {

class EpochPlan {
 public:
  static constexpr size_t kCachedEpochs = 3;

  // `dataset` must outlive the plan. FAILED_PRECONDITION when the dataset
  // has no fixed epoch (unbounded), no random access, or more records than
  // 2^32 per shard.
  static absl::StatusOr<std::unique_ptr<EpochPlan>> Create(
      const Dataset* dataset, uint64_t seed, uint32_t shard_index,
      uint32_t num_shards);

  uint64_t examples_per_epoch() const { return examples_; }
  const Dataset& dataset() const { return *dataset_; }

  // The epoch's order: shard positions (see Dataset::ShardRecord).
  std::shared_ptr<const std::vector<uint32_t>> Permutation(uint64_t epoch);
  // Global record indices of examples [first, first + count) of the epoch's
  // order (clipped to the epoch).
  std::vector<uint64_t> Records(uint64_t epoch, uint64_t first, uint64_t count);

 private:
  EpochPlan(const Dataset* dataset, uint64_t seed, uint32_t shard_index,
            uint32_t num_shards)
      : dataset_(dataset),
        seed_(seed),
        shard_index_(shard_index),
        num_shards_(num_shards),
        examples_(dataset->examples_per_epoch()) {}

  const Dataset* const dataset_;
  const uint64_t seed_;
  const uint32_t shard_index_;
  const uint32_t num_shards_;
  const uint64_t examples_;
  absl::Mutex mu_;
  // Most recently used first.
  std::deque<std::pair<uint64_t, std::shared_ptr<const std::vector<uint32_t>>>>
      cache_ ABSL_GUARDED_BY(mu_);
};

// What the deterministic order of a shard depends on; replicas whose
// fingerprints match serve the same batches.
struct OrderInputs {
  uint64_t seed = 0;
  uint32_t batch_size = 0;
  uint32_t shard_index = 0;
  uint32_t num_shards = 1;
  uint64_t examples_per_epoch = 0;
  ExampleShape shape;
  int image_size = 0;
  bool augment = true;
};
uint64_t OrderFingerprint(const OrderInputs& inputs);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_PIPELINE_EPOCH_PLAN_H_
