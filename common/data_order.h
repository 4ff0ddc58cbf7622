// The arithmetic of the deterministic data order, shared by servers and
// clients so both compute the same plan: which batch of which shard and epoch
// trainer rank `rank` of `world_size` gets at step t. A pure function of the
// shard layout (batch size, examples per shard and epoch), the rank, the
// world size and drop_remainder. Immutable after Create(); thread-safe.
//
// One epoch is every shard's batches, interleaved round-robin in shard order
// (round q holds batch q of every shard that has more than q batches), so a
// shard's batches are spread over the epoch. Rank r takes the epoch's
// positions r, r + W, r + 2W, ...:
//   - drop_remainder: shards build full batches only (a shard's last partial
//     batch is left out) and every rank takes floor(T / W) positions of the
//     T, so all ranks take the same number of full batches per epoch;
//   - otherwise: every example is in exactly one batch (a shard's last batch
//     may be short) and rank r takes every position j < T with j % W == r.
// Step t of a rank is position (t % steps_per_epoch) of epoch
// t / steps_per_epoch.
#ifndef INPUTSERVE_COMMON_DATA_ORDER_H_
#define INPUTSERVE_COMMON_DATA_ORDER_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace inputserve {

// What every shard's server reports: its batch size and examples per epoch.
struct ShardLayout {
  uint32_t batch_size = 0;
  std::vector<uint64_t> shard_examples;  // Entry s: shard s of num_shards.
};

// One batch of the plan: batch `index` of `shard`'s epoch `epoch`, which
// holds that shard's examples [index * batch_size, index * batch_size +
// size) of the epoch's permutation.
struct PlannedBatch {
  uint64_t step = 0;
  uint64_t epoch = 0;
  uint32_t shard = 0;
  uint64_t index = 0;
  uint32_t size = 0;
};

// Batches shard `examples` makes per epoch with `batch_size`.
inline uint64_t ShardBatchesPerEpoch(uint64_t examples, uint32_t batch_size,
                                     bool drop_remainder) {
  if (batch_size == 0) return 0;
  return drop_remainder ? examples / batch_size
                        : (examples + batch_size - 1) / batch_size;
}

class RankPlan {
 public:
  // INVALID_ARGUMENT for world_size 0, rank >= world_size, batch_size 0 or
  // no shards; FAILED_PRECONDITION when an epoch has fewer batches than
  // world_size (some rank would get none) or more than 2^32.
  static absl::StatusOr<RankPlan> Create(ShardLayout layout, uint32_t rank,
                                         uint32_t world_size,
                                         bool drop_remainder) {
    if (world_size == 0) {
      return absl::InvalidArgumentError("world_size must be at least 1");
    }
    if (rank >= world_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rank ", rank, " is out of range for world_size ", world_size,
          " (0 <= rank < world_size)"));
    }
    if (layout.batch_size == 0) {
      return absl::InvalidArgumentError("batch size must be at least 1");
    }
    if (layout.shard_examples.empty()) {
      return absl::InvalidArgumentError("the shard layout has no shards");
    }
    RankPlan plan;
    plan.layout_ = std::move(layout);
    plan.rank_ = rank;
    plan.world_size_ = world_size;
    plan.drop_remainder_ = drop_remainder;
    const size_t num_shards = plan.layout_.shard_examples.size();
    std::vector<uint64_t> batches(num_shards);
    uint64_t total = 0;
    uint64_t rounds = 0;
    for (size_t s = 0; s < num_shards; ++s) {
      batches[s] = ShardBatchesPerEpoch(plan.layout_.shard_examples[s],
                                        plan.layout_.batch_size,
                                        drop_remainder);
      total += batches[s];
      rounds = std::max(rounds, batches[s]);
    }
    if (total > (uint64_t{1} << 32)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "an epoch of ", total, " batches is more than the plan supports"));
    }
    const uint64_t positions =
        drop_remainder ? total / world_size * world_size : total;
    if (positions <= rank) {
      return absl::FailedPreconditionError(absl::StrCat(
          "an epoch has ", total, " batches", drop_remainder ? " (full)" : "",
          " over ", num_shards, " shard(s) of ",
          plan.layout_.batch_size, " examples: fewer than world_size ",
          world_size, ", so rank ", rank, " would get none"));
    }
    plan.by_shard_.resize(num_shards);
    uint64_t position = 0;
    for (uint64_t q = 0; q < rounds && position < positions; ++q) {
      for (size_t s = 0; s < num_shards && position < positions; ++s) {
        if (q >= batches[s]) continue;
        if (position % world_size == rank) {
          const uint64_t first = q * plan.layout_.batch_size;
          const uint64_t size = std::min<uint64_t>(
              plan.layout_.batch_size, plan.layout_.shard_examples[s] - first);
          plan.by_shard_[s].push_back(plan.epoch_.size());
          plan.epoch_.push_back(
              Entry{static_cast<uint32_t>(s), q, static_cast<uint32_t>(size)});
        }
        ++position;
      }
    }
    return plan;
  }

  const ShardLayout& layout() const { return layout_; }
  uint32_t rank() const { return rank_; }
  uint32_t world_size() const { return world_size_; }
  bool drop_remainder() const { return drop_remainder_; }
  // Steps (batches) this rank takes per epoch; at least 1.
  uint64_t steps_per_epoch() const { return epoch_.size(); }

  PlannedBatch At(uint64_t step) const {
    const Entry& e = epoch_[step % epoch_.size()];
    return PlannedBatch{step, step / epoch_.size(), e.shard, e.index, e.size};
  }

  // Whether any step of this rank falls on `shard`.
  bool UsesShard(uint32_t shard) const {
    return shard < by_shard_.size() && !by_shard_[shard].empty();
  }

  // The first step >= `from` that falls on `shard`; nullopt when none does.
  std::optional<uint64_t> NextStepOnShard(uint32_t shard,
                                          uint64_t from) const {
    if (!UsesShard(shard)) return std::nullopt;
    const std::vector<uint64_t>& offsets = by_shard_[shard];
    const uint64_t per_epoch = epoch_.size();
    const uint64_t epoch = from / per_epoch;
    const uint64_t offset = from % per_epoch;
    auto it = std::lower_bound(offsets.begin(), offsets.end(), offset);
    if (it != offsets.end()) return epoch * per_epoch + *it;
    return (epoch + 1) * per_epoch + offsets.front();
  }

 private:
  struct Entry {
    uint32_t shard = 0;
    uint64_t index = 0;
    uint32_t size = 0;
  };

  RankPlan() = default;

  ShardLayout layout_;
  uint32_t rank_ = 0;
  uint32_t world_size_ = 1;
  bool drop_remainder_ = true;
  std::vector<Entry> epoch_;                   // This rank's steps of an epoch.
  std::vector<std::vector<uint64_t>> by_shard_;  // Offsets into epoch_.
};

}  // namespace inputserve

#endif  // INPUTSERVE_COMMON_DATA_ORDER_H_
