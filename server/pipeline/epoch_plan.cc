#include "server/pipeline/epoch_plan.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "server/codec/rng.h"

namespace inputserve {
namespace {

// Keeps the permutation's generator apart from the other users of --seed
// (file order, augmentation).
constexpr uint64_t kPermutationDomain = 0x6f72646572ULL;  // "order"

}  // namespace

absl::StatusOr<std::unique_ptr<EpochPlan>> EpochPlan::Create(
    const Dataset* dataset, uint64_t seed, uint32_t shard_index,
    uint32_t num_shards) {
  if (dataset->examples_per_epoch() == 0) {
    return absl::FailedPreconditionError(
        "the dataset has no fixed epoch (it is unbounded), so it has no "
        "deterministic order");
  }
  if (!dataset->random_access()) {
    return absl::FailedPreconditionError(
        "the dataset keeps no record index, so it has no deterministic order");
  }
  if (dataset->examples_per_epoch() > (uint64_t{1} << 32)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the shard has ", dataset->examples_per_epoch(),
        " records; the deterministic order supports at most 2^32"));
  }
  return std::unique_ptr<EpochPlan>(
      new EpochPlan(dataset, seed, shard_index, num_shards));
}

std::shared_ptr<const std::vector<uint32_t>> EpochPlan::Permutation(
    uint64_t epoch) {
  absl::MutexLock lock(&mu_);
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (it->first != epoch) continue;
    auto entry = *it;
    cache_.erase(it);
    cache_.push_front(entry);
    return entry.second;
  }
  // Computed under the lock: streams that need the same epoch wait for one
  // computation (about 10 ms per million records) instead of repeating it.
  auto order = std::make_shared<std::vector<uint32_t>>(examples_);
  std::iota(order->begin(), order->end(), uint32_t{0});
  Rng rng(MixSeed(
      MixSeed(MixSeed(MixSeed(seed_, kPermutationDomain), epoch), shard_index_),
      num_shards_));
  for (uint64_t i = order->size(); i > 1; --i) {
    std::swap((*order)[i - 1], (*order)[rng.Below(i)]);
  }
  cache_.emplace_front(epoch, order);
  if (cache_.size() > kCachedEpochs) cache_.pop_back();
  return order;
}

std::vector<uint64_t> EpochPlan::Records(uint64_t epoch, uint64_t first,
                                         uint64_t count) {
  std::shared_ptr<const std::vector<uint32_t>> order = Permutation(epoch);
  std::vector<uint64_t> records;
  const uint64_t end = std::min<uint64_t>(first + count, order->size());
  for (uint64_t i = first; i < end; ++i) {
    records.push_back(dataset_->ShardRecord((*order)[i]));
  }
  return records;
}

uint64_t OrderFingerprint(const OrderInputs& in) {
  uint64_t h = MixSeed(kPermutationDomain, in.seed);
  for (uint64_t v :
       {uint64_t{in.batch_size}, uint64_t{in.shard_index},
        uint64_t{in.num_shards}, in.examples_per_epoch,
        static_cast<uint64_t>(in.shape.height),
        static_cast<uint64_t>(in.shape.width),
        static_cast<uint64_t>(in.shape.channels),
        static_cast<uint64_t>(in.shape.num_classes),
        static_cast<uint64_t>(in.image_size), uint64_t{in.augment}}) {
    h = MixSeed(h, v);
  }
  // 0 means "no deterministic order" on the wire.
  return h == 0 ? 1 : h;
}

}  // namespace inputserve
