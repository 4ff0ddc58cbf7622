// JpegRestartCache: LRU by bytes per shard, listener figures that add up,
// concurrent use, and the preprocessor's fill-on-first-read policy.
#include "server/codec/jpeg_cache.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "codec_test_util.h"
#include "gtest/gtest.h"
#include "server/codec/image_preprocessor.h"
#include "server/codec/rng.h"
#include "tests/testing/status_matchers.h"

namespace inputserve {
namespace {

using ::inputserve::testing::EncodeRgb;
using ::inputserve::testing::ReadFileOrEmpty;
using ::inputserve::testing::StatusIs;

class CountingListener : public JpegCacheListener {
 public:
  void OnLookup(bool hit) override { (hit ? hits : misses)++; }
  void OnEvictions(int64_t count) override { evictions += count; }
  void OnBytesChanged(int64_t delta) override { bytes += delta; }
  std::atomic<int64_t> hits{0}, misses{0}, evictions{0}, bytes{0};
};

JpegRestartCache::EntryPtr EntryOf(size_t size) {
  auto e = std::make_shared<JpegRestartCache::Entry>();
  e->jpeg.assign(size, 'x');
  return e;
}

// Keys that land in the same shard, so one shard's LRU order is visible.
std::vector<uint64_t> SameShardKeys(int n) {
  std::vector<uint64_t> keys;
  for (uint64_t k = 0; static_cast<int>(keys.size()) < n; ++k) {
    if (JpegRestartCache::ShardIndex(k) == 3) keys.push_back(k);
  }
  return keys;
}

TEST(JpegCacheTest, EvictsLeastRecentlyUsedByBytes) {
  const int64_t charge = JpegRestartCache::Charge(*EntryOf(1000));
  CountingListener l;
  // Room for exactly three entries per shard.
  JpegRestartCache cache(JpegRestartCache::kShards * (3 * charge + 10), &l);
  const std::vector<uint64_t> k = SameShardKeys(4);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.Insert(k[i], EntryOf(1000)));
  EXPECT_EQ(cache.bytes(), 3 * charge);
  EXPECT_FALSE(cache.HasRoomFor(k[3], charge));
  ASSERT_NE(cache.Lookup(k[0]), nullptr);  // k[1] is now the oldest.
  ASSERT_TRUE(cache.Insert(k[3], EntryOf(1000)));
  EXPECT_EQ(cache.Lookup(k[1]), nullptr);
  EXPECT_NE(cache.Lookup(k[0]), nullptr);
  EXPECT_NE(cache.Lookup(k[2]), nullptr);
  EXPECT_NE(cache.Lookup(k[3]), nullptr);
  EXPECT_EQ(l.hits, 4);
  EXPECT_EQ(l.misses, 1);
  EXPECT_EQ(l.evictions, 1);
  EXPECT_EQ(l.bytes, cache.bytes());
  EXPECT_EQ(cache.bytes(), 3 * charge);
  // Replacing a key does not grow the cache; an entry bigger than a shard
  // is refused and leaves the cache as it was.
  ASSERT_TRUE(cache.Insert(k[3], EntryOf(1000)));
  EXPECT_EQ(cache.bytes(), 3 * charge);
  EXPECT_FALSE(cache.Insert(k[1], EntryOf(4 * 1000)));
  EXPECT_EQ(cache.bytes(), 3 * charge);
  EXPECT_EQ(l.bytes, cache.bytes());
}

TEST(JpegCacheTest, ConcurrentUseStaysWithinCapacity) {
  CountingListener l;
  JpegRestartCache cache(1 << 20, &l);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Rng rng(t);
      for (int i = 0; i < 5000; ++i) {
        const uint64_t key = rng.Below(400);
        if (auto e = cache.Lookup(key)) {
          ASSERT_EQ(e->jpeg.size(), 1000 + key * 10);
        } else {
          cache.Insert(key, EntryOf(1000 + key * 10));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(cache.bytes(), cache.capacity_bytes());
  EXPECT_GT(l.evictions, 0);
  EXPECT_EQ(l.bytes, cache.bytes());
  EXPECT_EQ(l.hits + l.misses, 4 * 5000);
}

// A preprocessor with a 64 MiB cache, one without, and output buffers.
struct CachedAndPlain {
  CountingListener l;
  std::shared_ptr<JpegRestartCache> cache =
      std::make_shared<JpegRestartCache>(64 << 20, &l);
  ImagePreprocessor cached{PreprocessOptions{224, true, 8, true, cache}};
  ImagePreprocessor plain{PreprocessOptions{}};
  std::vector<uint8_t> a = std::vector<uint8_t>(224 * 224 * 3);
  std::vector<uint8_t> b = std::vector<uint8_t>(224 * 224 * 3);
};

// First read: a miss that fills the cache; later reads hit and give the
// same output as the restart path on a fresh rewrite.
TEST(JpegCacheTest, PreprocessorFillsOnFirstReadAndHitsLater) {
  std::vector<std::string> jpegs = {EncodeRgb(613, 419)};
  const std::string photo = ReadFileOrEmpty(testing::DebianPhotoPath("china"));
  if (!photo.empty()) jpegs.push_back(photo);
  CachedAndPlain t;
  for (uint64_t key = 0; key < jpegs.size(); ++key) {
    const std::string rewritten = *RewriteWithRestarts(jpegs[key], false);
    RestartIndex index;
    ASSERT_TRUE(ParseRestartIndex(rewritten, &index).ok());
    for (uint64_t seed = 0; seed < 3; ++seed) {
      ASSERT_TRUE(
          t.cached.ProcessRecord(jpegs[key], key, seed, t.a.data()).ok());
      ASSERT_TRUE(
          t.plain.ProcessIndexed(rewritten, index, seed, t.b.data()).ok());
      EXPECT_EQ(t.a, t.b) << "record " << key << " seed " << seed;
    }
  }
  EXPECT_EQ(t.l.misses, static_cast<int64_t>(jpegs.size()));
  EXPECT_EQ(t.l.hits, static_cast<int64_t>(2 * jpegs.size()));
  EXPECT_GT(t.cache->bytes(), 0);
}

// JPEGs that already carry restart markers (inputserve-datagen prepare)
// take the restart path without touching the cache.
TEST(JpegCacheTest, PreparedJpegsSkipTheCache) {
  const std::string rw = *RewriteWithRestarts(EncodeRgb(300, 200));
  RestartIndex index;
  ASSERT_TRUE(ParseRestartIndex(rw, &index).ok());
  CachedAndPlain t;
  ASSERT_TRUE(t.cached.ProcessRecord(rw, 1, 4, t.a.data()).ok());
  ASSERT_TRUE(t.plain.ProcessIndexed(rw, index, 4, t.b.data()).ok());
  EXPECT_EQ(t.a, t.b);
  EXPECT_EQ(t.l.hits + t.l.misses, 0);
  EXPECT_EQ(t.cache->bytes(), 0);
}

// A full cache admits nothing more: those records decode as without it.
// Corrupt JPEGs give the decoder's own error; PNGs pass through.
TEST(JpegCacheTest, FullCacheAndBadInputFallBack) {
  const std::string jpeg = EncodeRgb(300, 200);
  PreprocessOptions o;
  o.jpeg_cache = std::make_shared<JpegRestartCache>(JpegRestartCache::kShards);
  ImagePreprocessor cached(o);
  ImagePreprocessor plain{PreprocessOptions{}};
  std::vector<uint8_t> a(224 * 224 * 3), b(a.size());
  ASSERT_TRUE(cached.ProcessRecord(jpeg, 1, 5, a.data()).ok());
  ASSERT_TRUE(plain.Process(jpeg, 5, b.data()).ok());
  EXPECT_EQ(a, b);
  EXPECT_EQ(o.jpeg_cache->bytes(), 0);

  PreprocessOptions big;
  big.jpeg_cache = std::make_shared<JpegRestartCache>(64 << 20);
  ImagePreprocessor p(big);
  EXPECT_THAT(p.ProcessRecord(jpeg.substr(0, jpeg.size() / 2), 2, 0, a.data()),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(p.ProcessRecord("garbage", 3, 0, a.data()),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(big.jpeg_cache->bytes(), 0);
}

}  // namespace
}  // namespace inputserve
