// ShardPlan: which records of a file-backed dataset one replica reads, and in
// which file order each epoch.
//
// With at least as many files as shards, shard k owns the files i with
// i % num_shards == k (whole files: no wasted reads). With fewer files, every
// shard visits every file and owns the records r with r % num_shards == k,
// where r counts records over all files in sorted order. Either way the
// shards together own every record exactly once. Immutable; thread-safe.
#ifndef INPUTSERVE_SERVER_SOURCES_SHARD_PLAN_H_
#define INPUTSERVE_SERVER_SOURCES_SHARD_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace inputserve {

// One data file with the number of records counted when the dataset opened.
struct DataFile {
  std::string path;
  uint64_t num_records = 0;
  // Global index of its first record (files in sorted order).
  uint64_t first_record = 0;
  // Position of the file in sorted order (set by ShardPlan::Create), for
  // formats that keep per-file indexes beside the plan.
  size_t ordinal = 0;
  // A problem found at open time after the last counted record (e.g. a
  // truncated tail); the reader reports it when it reaches that position.
  std::string tail_reason;
  uint64_t tail_offset = 0;
  std::string tail_detail;
};

class ShardPlan {
 public:
  // `files` in sorted order with num_records set; first_record is filled in.
  // INVALID_ARGUMENT when num_shards == 0 or shard_index >= num_shards.
  static absl::StatusOr<ShardPlan> Create(std::vector<DataFile> files,
                                          uint32_t shard_index,
                                          uint32_t num_shards, uint64_t seed,
                                          bool shuffle_files = true);

  // Records this shard owns per epoch.
  uint64_t examples_per_epoch() const { return examples_per_epoch_; }
  // Total records over all shards.
  uint64_t total_records() const { return total_records_; }
  bool shards_records() const { return by_record_; }
  // All files in sorted order (for random access by global record index).
  const std::vector<DataFile>& files() const { return files_; }
  // The file holding global record `index` (< total_records()).
  const DataFile& FileOf(uint64_t index) const;

  // The files this shard visits in `epoch`, in a file order shuffled from
  // (seed, epoch) (sorted order when shuffle_files is off); the same for
  // every replica with the same seed.
  std::vector<const DataFile*> EpochFiles(uint64_t epoch) const;

  // The global index of this shard's record `position` (<
  // examples_per_epoch()), counting the records it owns in global order.
  // O(log files); keeps 8 bytes per visited file, nothing per record.
  uint64_t OwnedRecord(uint64_t position) const;

  // Whether this shard owns the record with global index `index`.
  bool Owns(uint64_t index) const {
    return !by_record_ || index % num_shards_ == shard_index_;
  }

 private:
  ShardPlan() = default;

  std::vector<DataFile> files_;  // All files, sorted.
  std::vector<size_t> visited_;  // Indices into files_ this shard reads.
  // By files: the shard position of each visited file's first record.
  std::vector<uint64_t> visited_start_;
  uint32_t shard_index_ = 0;
  uint32_t num_shards_ = 1;
  bool by_record_ = false;
  uint64_t seed_ = 0;
  bool shuffle_files_ = true;
  uint64_t examples_per_epoch_ = 0;
  uint64_t total_records_ = 0;
};

// The one check of --shard_index/--num_shards (flags, ServerOptions, every
// dataset kind): 1 <= num_shards <= kMaxShards, 0 <= shard_index <
// num_shards. INVALID_ARGUMENT naming the flag, its value and the allowed
// range.
inline constexpr int64_t kMaxShards = 65536;
absl::Status CheckShardOptions(int64_t shard_index, int64_t num_shards);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_SHARD_PLAN_H_
