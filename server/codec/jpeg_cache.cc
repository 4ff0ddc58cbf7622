#include "server/codec/jpeg_cache.h"

namespace inputserve {

JpegRestartCache::JpegRestartCache(int64_t capacity_bytes,
                                   JpegCacheListener* listener)
    : capacity_(capacity_bytes),
      shard_capacity_(capacity_bytes / kShards),
      listener_(listener) {}

int JpegRestartCache::ShardIndex(uint64_t key) {
  // Record ids are consecutive: mix them so shards fill evenly.
  return static_cast<int>((key * 0x9E3779B97F4A7C15ull) >> 60);
}

JpegRestartCache::Shard& JpegRestartCache::ShardOf(uint64_t key) {
  return shards_[ShardIndex(key)];
}

int64_t JpegRestartCache::Charge(const Entry& entry) {
  constexpr int64_t kBookkeeping = 160;  // Entry, list node, map node.
  return static_cast<int64_t>(
             sizeof(Entry) + entry.jpeg.capacity() +
             entry.index.header.capacity() +
             (entry.index.begin.capacity() + entry.index.end.capacity()) *
                 sizeof(uint32_t)) +
         kBookkeeping;
}

JpegRestartCache::EntryPtr JpegRestartCache::Lookup(uint64_t key) {
  Shard& s = ShardOf(key);
  EntryPtr found;
  {
    absl::MutexLock lock(&s.mu);
    auto it = s.map.find(key);
    if (it != s.map.end()) {
      s.lru.splice(s.lru.begin(), s.lru, it->second);
      found = it->second->second;
    }
  }
  if (listener_ != nullptr) listener_->OnLookup(found != nullptr);
  return found;
}

bool JpegRestartCache::HasRoomFor(uint64_t key, int64_t charge) {
  Shard& s = ShardOf(key);
  absl::MutexLock lock(&s.mu);
  return s.bytes + charge <= shard_capacity_;
}

bool JpegRestartCache::Insert(uint64_t key, EntryPtr entry) {
  const int64_t charge = Charge(*entry);
  if (charge > shard_capacity_) return false;
  Shard& s = ShardOf(key);
  int64_t evicted = 0, delta = 0;
  // Evicted entries are released after the lock, outside the critical
  // section (a reader may still hold them).
  Shard::Lru dropped;
  {
    absl::MutexLock lock(&s.mu);
    auto it = s.map.find(key);
    if (it != s.map.end()) {
      delta -= Charge(*it->second->second);
      dropped.splice(dropped.end(), s.lru, it->second);
      s.map.erase(it);
    }
    while (s.bytes + delta + charge > shard_capacity_ && !s.lru.empty()) {
      auto last = std::prev(s.lru.end());
      delta -= Charge(*last->second);
      s.map.erase(last->first);
      dropped.splice(dropped.end(), s.lru, last);
      ++evicted;
    }
    s.lru.emplace_front(key, std::move(entry));
    s.map[key] = s.lru.begin();
    delta += charge;
    s.bytes += delta;
  }
  if (listener_ != nullptr) {
    if (evicted > 0) listener_->OnEvictions(evicted);
    listener_->OnBytesChanged(delta);
  }
  return true;
}

int64_t JpegRestartCache::bytes() const {
  int64_t total = 0;
  for (const Shard& s : shards_) {
    absl::MutexLock lock(&s.mu);
    total += s.bytes;
  }
  return total;
}

}  // namespace inputserve
