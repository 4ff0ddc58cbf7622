#include "server/sources/shard_plan.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/codec/rng.h"

namespace inputserve {

absl::Status CheckShardOptions(int64_t shard_index, int64_t num_shards) {
  if (num_shards < 1 || num_shards > kMaxShards) {
    return absl::InvalidArgumentError(
        absl::StrCat("--num_shards=", num_shards,
                     " is out of range: allowed 1..", kMaxShards));
  }
  if (shard_index < 0 || shard_index >= num_shards) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shard_index=", shard_index, " is out of range: allowed 0..",
        num_shards - 1, " for --num_shards=", num_shards));
  }
  return absl::OkStatus();
}

absl::StatusOr<ShardPlan> ShardPlan::Create(std::vector<DataFile> files,
                                            uint32_t shard_index,
                                            uint32_t num_shards, uint64_t seed,
                                            bool shuffle_files) {
  if (absl::Status s = CheckShardOptions(shard_index, num_shards); !s.ok()) {
    return s;
  }
  ShardPlan plan;
  plan.shard_index_ = shard_index;
  plan.num_shards_ = num_shards;
  plan.shuffle_files_ = shuffle_files;
  plan.seed_ = seed;
  plan.by_record_ = files.size() < num_shards;
  uint64_t next = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    DataFile& f = files[i];
    f.ordinal = i;
    f.first_record = next;
    next += f.num_records;
  }
  plan.total_records_ = next;
  for (size_t i = 0; i < files.size(); ++i) {
    if (plan.by_record_ || i % num_shards == shard_index) {
      plan.visited_.push_back(i);
    }
  }
  if (plan.by_record_) {
    // Records r < total with r % n == k.
    plan.examples_per_epoch_ =
        next / num_shards + (shard_index < next % num_shards ? 1 : 0);
  } else {
    for (size_t i : plan.visited_) {
      plan.visited_start_.push_back(plan.examples_per_epoch_);
      plan.examples_per_epoch_ += files[i].num_records;
    }
  }
  plan.files_ = std::move(files);
  return plan;
}

const DataFile& ShardPlan::FileOf(uint64_t index) const {
  // The last file whose first record is at or before `index`; files without
  // records share a first_record with the next file and are passed over.
  auto it = std::upper_bound(
      files_.begin(), files_.end(), index,
      [](uint64_t i, const DataFile& f) { return i < f.first_record; });
  --it;
  while (it->num_records == 0) ++it;
  return *it;
}

uint64_t ShardPlan::OwnedRecord(uint64_t position) const {
  if (by_record_) return shard_index_ + position * num_shards_;
  // The last visited file that starts at or before `position`; files
  // without records share a start with the next one and are passed over.
  auto it =
      std::upper_bound(visited_start_.begin(), visited_start_.end(), position);
  size_t v = static_cast<size_t>(it - visited_start_.begin()) - 1;
  while (files_[visited_[v]].num_records == 0) ++v;
  return files_[visited_[v]].first_record + (position - visited_start_[v]);
}

std::vector<const DataFile*> ShardPlan::EpochFiles(uint64_t epoch) const {
  std::vector<const DataFile*> order;
  order.reserve(visited_.size());
  for (size_t i : visited_) order.push_back(&files_[i]);
  if (!shuffle_files_) return order;
  // Fisher-Yates with our own generator: reproducible on every platform.
  Rng rng(MixSeed(seed_, epoch));
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[rng.Below(i)]);
  }
  return order;
}

}  // namespace inputserve
