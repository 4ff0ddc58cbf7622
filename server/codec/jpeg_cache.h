// JpegRestartCache: record id -> that record's JPEG rewritten with restart
// markers plus its RestartIndex, bounded in bytes, least recently used out
// first. Filled on a record's first read so later epochs cut crops without
// rewriting. Thread-safe: 16 shards, each behind its own mutex; entries are
// immutable and shared, so a reader keeps one alive after an eviction.
#ifndef INPUTSERVE_SERVER_CODEC_JPEG_CACHE_H_
#define INPUTSERVE_SERVER_CODEC_JPEG_CACHE_H_

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/codec/jpeg_restart.h"

namespace inputserve {

// Told of every lookup, eviction and change of size (to export metrics).
// Implementations must be thread-safe and cheap: called under no lock but
// on the decode path.
class JpegCacheListener {
 public:
  virtual ~JpegCacheListener() = default;
  virtual void OnLookup(bool hit) = 0;
  virtual void OnEvictions(int64_t count) = 0;
  virtual void OnBytesChanged(int64_t delta) = 0;
};

class JpegRestartCache {
 public:
  struct Entry {
    std::string jpeg;  // With restart markers.
    RestartIndex index;
  };
  using EntryPtr = std::shared_ptr<const Entry>;

  // `capacity_bytes` > 0 bounds the sum of the entries' charges; each of the
  // 16 shards holds at most a 16th of it. `listener` may be null and must
  // outlive the cache.
  explicit JpegRestartCache(int64_t capacity_bytes,
                            JpegCacheListener* listener = nullptr);
  JpegRestartCache(const JpegRestartCache&) = delete;
  JpegRestartCache& operator=(const JpegRestartCache&) = delete;

  // The entry for `key`, now the most recently used; null on a miss.
  EntryPtr Lookup(uint64_t key);

  // Whether an entry of `charge` bytes fits beside what `key`'s shard holds
  // without evicting anything.
  bool HasRoomFor(uint64_t key, int64_t charge);

  // Stores `entry` under `key` (replacing any), evicting least recently used
  // entries of its shard until it fits; an entry bigger than a shard is not
  // stored. Returns whether it was stored.
  bool Insert(uint64_t key, EntryPtr entry);

  // Memory an entry accounts for: its bytes, index and bookkeeping.
  static int64_t Charge(const Entry& entry);

  int64_t bytes() const;
  int64_t capacity_bytes() const { return capacity_; }

  // Which shard holds `key`; each bounds its entries to capacity / kShards.
  static constexpr int kShards = 16;
  static int ShardIndex(uint64_t key);

 private:
  struct Shard {
    using Lru = std::list<std::pair<uint64_t, EntryPtr>>;
    mutable absl::Mutex mu;
    Lru lru ABSL_GUARDED_BY(mu);  // Most recently used first.
    std::unordered_map<uint64_t, Lru::iterator> map ABSL_GUARDED_BY(mu);
    int64_t bytes ABSL_GUARDED_BY(mu) = 0;
  };
  Shard& ShardOf(uint64_t key);

  const int64_t capacity_;
  const int64_t shard_capacity_;
  JpegCacheListener* const listener_;
  std::array<Shard, kShards> shards_;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CODEC_JPEG_CACHE_H_
