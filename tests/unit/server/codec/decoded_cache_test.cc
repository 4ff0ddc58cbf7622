#include "server/codec/decoded_cache.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/server/codec/codec_test_util.h"

namespace inputserve {
namespace {

using ::inputserve::testing::DebianPhotoPath;
using ::inputserve::testing::EncodeRgb;
using ::inputserve::testing::IsOk;
using ::inputserve::testing::MaxAbsDiff;
using ::inputserve::testing::MeanAbsDiff;
using ::inputserve::testing::ReadFileOrEmpty;
using ::inputserve::testing::RealPhotoPaths;

#define ASSERT_OK(expr) ASSERT_THAT(expr, IsOk())
#define EXPECT_OK(expr) EXPECT_THAT(expr, IsOk())

std::unique_ptr<DecodedCache> MustCreate(DecodedCacheOptions options) {
  absl::StatusOr<std::unique_ptr<DecodedCache>> cache =
      DecodedCache::Create(std::move(options));
  EXPECT_THAT(cache.status(), IsOk());
  return cache.ok() ? *std::move(cache) : nullptr;
}

// A w x h image whose every byte is derived from `index`, so a mixed-up
// entry shows.
std::vector<uint8_t> Pixels(uint64_t index, int w, int h) {
  std::vector<uint8_t> p(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = static_cast<uint8_t>(index * 31 + i * 7);
  }
  return p;
}

DecodedEntry EntryOf(const std::vector<uint8_t>& pixels, int w, int h) {
  return DecodedEntry{w * 2, h * 2, w, h, pixels.data()};
}

bool HoldsPixels(DecodedCache& cache, uint64_t index, int w, int h) {
  std::optional<DecodedEntry> e = cache.Lookup(index);
  if (!e.has_value() || e->width != w || e->height != h) return false;
  const std::vector<uint8_t> want = Pixels(index, w, h);
  return std::equal(want.begin(), want.end(), e->pixels);
}

DecodedCacheOptions RamOptions(int64_t bytes) {
  DecodedCacheOptions o;
  o.where = "ram";
  o.ram_bytes = bytes;
  return o;
}

// A fresh directory under TEST_TMPDIR (or /tmp), removed by the test.
std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") +
                    "/decoded_cache_test_XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir;
}

int FilesIn(const std::string& dir) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
  }
  closedir(d);
  return n;
}

TEST(CachedResolutionTest, ShorterSideIsOutSizeTimesMarginNeverUpscaled) {
  CachedSize s = CachedResolution(640, 427, 224, 1.25);
  EXPECT_EQ(s.height, 280);
  EXPECT_EQ(s.width, 420);  // 640 * 280 / 427 rounded.
  s = CachedResolution(1411, 1411, 224, 1.25);
  EXPECT_EQ(s.width, 280);
  EXPECT_EQ(s.height, 280);
  s = CachedResolution(200, 900, 224, 1.25);  // Shorter side below: as is.
  EXPECT_EQ(s.width, 200);
  EXPECT_EQ(s.height, 900);
}

TEST(CachedResolutionTest, ExtremeAspectRatiosStayInBounds) {
  CachedSize s = CachedResolution(16384, 300, 224, 1.0);
  EXPECT_EQ(s.height, 224);
  EXPECT_LE(s.width, 16384);
  EXPECT_GE(s.width, 224);
  s = CachedResolution(1, 16384, 224, 1.0);
  EXPECT_EQ(s.width, 1);
  EXPECT_EQ(s.height, 16384);
  s = CachedResolution(300, 16384, 8, 1.0);
  EXPECT_EQ(s.width, 8);
  EXPECT_GE(s.height, 8);
}

TEST(DecodedCacheOptionsTest, BadValuesNameTheirFlag) {
  DecodedCacheOptions o = RamOptions(1 << 20);
  o.margin = 0.5;
  EXPECT_THAT(ValidateDecodedCacheOptions(o).message(),
              ::testing::HasSubstr("--decoded_cache_margin"));
  o.margin = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(ValidateDecodedCacheOptions(o).ok());
  o = RamOptions(-1);
  EXPECT_THAT(ValidateDecodedCacheOptions(o).message(),
              ::testing::HasSubstr("--decoded_cache_bytes"));
  o = RamOptions(0);
  EXPECT_FALSE(ValidateDecodedCacheOptions(o).ok());
  o.where = "/tmp";
  o.spill_bytes = 0;
  EXPECT_THAT(ValidateDecodedCacheOptions(o).message(),
              ::testing::HasSubstr("--decoded_cache_spill_bytes"));
  EXPECT_TRUE(ValidateDecodedCacheOptions(DecodedCacheOptions{}).ok());
}

TEST(DecodedCacheTest, MissingSpillDirectoryIsAClearError) {
  DecodedCacheOptions o;
  o.where = "/nonexistent/decoded-cache-dir";
  absl::StatusOr<std::unique_ptr<DecodedCache>> cache = DecodedCache::Create(o);
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cache.status().message(),
              ::testing::HasSubstr("/nonexistent/decoded-cache-dir"));
}

TEST(DecodedCacheTest, StaysWithinItsBytesAndKeepsWhatItHolds) {
  constexpr int kW = 20, kH = 10;
  constexpr int64_t kEntry = kW * kH * 3;
  std::unique_ptr<DecodedCache> cache = MustCreate(RamOptions(3 * kEntry));
  ASSERT_NE(cache, nullptr);
  for (uint64_t i = 0; i < 5; ++i) {
    const std::vector<uint8_t> p = Pixels(i, kW, kH);
    EXPECT_EQ(cache->Insert(i, EntryOf(p, kW, kH)), i < 3) << i;
  }
  EXPECT_FALSE(cache->HasRoomFor(kEntry));
  EXPECT_TRUE(cache->HasRoomFor(0));
  // No eviction: the first three stay, the last two were never admitted.
  for (uint64_t i = 0; i < 3; ++i) EXPECT_TRUE(HoldsPixels(*cache, i, kW, kH));
  EXPECT_FALSE(cache->Lookup(3).has_value());
  EXPECT_FALSE(cache->Lookup(4).has_value());
  const DecodedCache::Stats s = cache->stats();
  EXPECT_EQ(s.entries, 3u);
  EXPECT_EQ(s.ram_bytes, 3 * kEntry);
  EXPECT_EQ(s.hits, 3u);
  EXPECT_EQ(s.misses, 2u);
}

TEST(DecodedCacheTest, HooksReportHitsMissesAndBytes) {
  std::atomic<int> hits{0}, misses{0};
  std::atomic<int64_t> bytes{0};
  DecodedCacheOptions o = RamOptions(1 << 20);
  o.on_hit = [&] { ++hits; };
  o.on_miss = [&] { ++misses; };
  o.on_bytes = [&](int64_t b) { bytes = b; };
  std::unique_ptr<DecodedCache> cache = MustCreate(o);
  ASSERT_NE(cache, nullptr);
  EXPECT_FALSE(cache->Lookup(7).has_value());
  const std::vector<uint8_t> p = Pixels(7, 4, 4);
  ASSERT_TRUE(cache->Insert(7, EntryOf(p, 4, 4)));
  EXPECT_FALSE(cache->Insert(7, EntryOf(p, 4, 4)));  // Already there.
  EXPECT_TRUE(cache->Lookup(7).has_value());
  EXPECT_EQ(hits, 1);
  EXPECT_EQ(misses, 1);
  EXPECT_EQ(bytes, 4 * 4 * 3);
}

TEST(DecodedCacheTest, RefusesMalformedEntries) {
  std::unique_ptr<DecodedCache> cache = MustCreate(RamOptions(1 << 20));
  ASSERT_NE(cache, nullptr);
  const std::vector<uint8_t> p = Pixels(1, 8, 8);
  EXPECT_FALSE(cache->Insert(1, DecodedEntry{8, 8, 8, 8, nullptr}));
  EXPECT_FALSE(cache->Insert(1, DecodedEntry{8, 8, 0, 8, p.data()}));
  EXPECT_FALSE(cache->Insert(1, DecodedEntry{4, 8, 8, 8, p.data()}));  // Up.
  EXPECT_FALSE(cache->Insert(1, DecodedEntry{-8, 8, 8, 8, p.data()}));
  EXPECT_FALSE(cache->Insert(
      1, DecodedEntry{1 << 20, 8, 1 << 20, 8, p.data()}));  // Too wide.
  EXPECT_EQ(cache->stats().entries, 0u);
  EXPECT_EQ(cache->stats().ram_bytes, 0);
}

TEST(DecodedCacheTest, SpillFileRoundTripsAndLeavesNoFileBehind) {
  constexpr int kW = 33, kH = 17;  // Odd sizes: unaligned offsets.
  constexpr int64_t kEntry = kW * kH * 3;
  const std::string dir = MakeTempDir();
  {
    DecodedCacheOptions o;
    o.where = dir;
    o.ram_bytes = kEntry;  // One entry in RAM, the rest spills.
    o.spill_bytes = 4 * kEntry;
    std::unique_ptr<DecodedCache> cache = MustCreate(o);
    ASSERT_NE(cache, nullptr);
    EXPECT_EQ(FilesIn(dir), 0);  // Unlinked at once.
    for (uint64_t i = 0; i < 6; ++i) {
      const std::vector<uint8_t> p = Pixels(i, kW, kH);
      EXPECT_EQ(cache->Insert(i, EntryOf(p, kW, kH)), i < 5) << i;
    }
    for (uint64_t i = 0; i < 5; ++i) {
      EXPECT_TRUE(HoldsPixels(*cache, i, kW, kH)) << i;
    }
    const DecodedCache::Stats s = cache->stats();
    EXPECT_EQ(s.ram_bytes, kEntry);
    EXPECT_EQ(s.spill_bytes, 4 * kEntry);
  }
  EXPECT_EQ(FilesIn(dir), 0);
  rmdir(dir.c_str());
}

TEST(DecodedCacheTest, ConcurrentInsertsAndLookupsNeverMixEntries) {
  constexpr int kW = 16, kH = 12;
  constexpr int kRecords = 200;
  std::unique_ptr<DecodedCache> cache =
      MustCreate(RamOptions(int64_t{kRecords} * kW * kH * 3));
  ASSERT_NE(cache, nullptr);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (int k = 0; k < kRecords; ++k) {
          const uint64_t i = (k * 7 + t * 13) % kRecords;
          if (std::optional<DecodedEntry> e = cache->Lookup(i)) {
            const std::vector<uint8_t> want = Pixels(i, kW, kH);
            if (!std::equal(want.begin(), want.end(), e->pixels)) ++wrong;
          } else {
            const std::vector<uint8_t> p = Pixels(i, kW, kH);
            cache->Insert(i, EntryOf(p, kW, kH));
          }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
  const DecodedCache::Stats s = cache->stats();
  EXPECT_EQ(s.entries, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(s.hits + s.misses, 4u * 3 * kRecords);
  EXPECT_GE(s.hits, 4u * 2 * kRecords);  // Rounds 2 and 3 all hit.
}

// The decoded-cache path against the normal (region decode) path on the
// real photographs: the same crop plans, read from pixels kept at the
// bounded resolution. Prints the difference and bounds it.
TEST(CachedPreprocessorTest, DifferenceFromFullResolutionOnRealPhotos) {
  for (const double margin : {1.0, 1.25, 2.0}) {
    PreprocessOptions po;
    ImagePreprocessor normal(po), fallback(po);
    DecodedCacheOptions o = RamOptions(int64_t{1} << 30);
    o.margin = margin;
    std::unique_ptr<DecodedCache> cache = MustCreate(o);
    ASSERT_NE(cache, nullptr);
    CachedPreprocessor cached(cache.get(), &fallback);
    const size_t bytes = static_cast<size_t>(po.out_size) * po.out_size * 3;
    std::vector<uint8_t> want(bytes), got(bytes), again(bytes);
    double mean_sum = 0;
    int max_diff = 0, n = 0;
    uint64_t index = 0;
    for (const std::string& path : RealPhotoPaths()) {
      const std::string jpeg = ReadFileOrEmpty(path);
      ASSERT_FALSE(jpeg.empty()) << path;
      for (uint64_t seed = 1; seed <= 50; ++seed, ++index) {
        ASSERT_OK(normal.Process(jpeg, seed, want.data()));
        ASSERT_OK(cached.Process(index, jpeg, seed, got.data()));    // Miss.
        ASSERT_OK(cached.Process(index, jpeg, seed, again.data()));  // Hit.
        ASSERT_EQ(got, again) << "a hit must equal the miss that filled it";
        mean_sum += MeanAbsDiff(want, got);
        max_diff = std::max(max_diff, MaxAbsDiff(want, got));
        ++n;
      }
    }
    const double mean = mean_sum / n;
    std::printf(
        "decoded cache margin %.2f vs full resolution over %d crops of %zu "
        "photos: mean abs diff %.2f, max abs diff %d (of 255)\n",
        margin, n, RealPhotoPaths().size(), mean, max_diff);
    EXPECT_EQ(cache->stats().hits, static_cast<uint64_t>(n));
    // Measured 3.03 / 2.36 / 0.15 for margins 1 / 1.25 / 2.
    EXPECT_LT(mean, margin >= 2.0 ? 0.5 : 4.0) << margin;
  }
}

TEST(CachedPreprocessorTest, FullCacheFallsBackToTheNormalPathExactly) {
  PreprocessOptions po;
  ImagePreprocessor normal(po), fallback(po);
  std::unique_ptr<DecodedCache> cache = MustCreate(RamOptions(1000));
  ASSERT_NE(cache, nullptr);
  CachedPreprocessor cached(cache.get(), &fallback);
  const std::string jpeg = ReadFileOrEmpty(DebianPhotoPath("china"));
  const size_t bytes = static_cast<size_t>(po.out_size) * po.out_size * 3;
  std::vector<uint8_t> want(bytes), got(bytes);
  ASSERT_OK(normal.Process(jpeg, 9, want.data()));
  ASSERT_OK(cached.Process(0, jpeg, 9, got.data()));
  EXPECT_EQ(want, got);
  EXPECT_EQ(cache->stats().entries, 0u);
}

TEST(CachedPreprocessorTest, SmallAndOddImagesAreKeptAtFullSize) {
  PreprocessOptions po;
  po.out_size = 64;
  ImagePreprocessor fallback(po);
  std::unique_ptr<DecodedCache> cache = MustCreate(RamOptions(1 << 24));
  ASSERT_NE(cache, nullptr);
  CachedPreprocessor cached(cache.get(), &fallback);
  std::vector<uint8_t> out(64 * 64 * 3);
  const struct {
    int w, h;
  } sizes[] = {{1, 1}, {3, 500}, {500, 2}, {47, 33}, {64, 64}};
  uint64_t index = 0;
  for (const auto& s : sizes) {
    ASSERT_OK(cached.Process(index, EncodeRgb(s.w, s.h), 3, out.data()))
        << s.w << "x" << s.h;
    std::optional<DecodedEntry> e = cache->Lookup(index++);
    ASSERT_TRUE(e.has_value());
    EXPECT_LE(e->width, s.w);
    EXPECT_LE(e->height, s.h);
    EXPECT_GE(std::min(e->width, e->height),
              std::min({s.w, s.h, 80}));  // ceil(64 * 1.25).
  }
}

TEST(CachedPreprocessorTest, BrokenBytesAreErrorsAndNeverCached) {
  PreprocessOptions po;
  ImagePreprocessor fallback(po);
  std::unique_ptr<DecodedCache> cache = MustCreate(RamOptions(1 << 24));
  ASSERT_NE(cache, nullptr);
  CachedPreprocessor cached(cache.get(), &fallback);
  std::vector<uint8_t> out(224 * 224 * 3);
  const std::string truncated = ReadFileOrEmpty(DebianPhotoPath("truncated"));
  ASSERT_FALSE(truncated.empty());
  EXPECT_FALSE(cached.Process(0, truncated, 1, out.data()).ok());
  EXPECT_FALSE(cached.Process(1, "not an image", 1, out.data()).ok());
  EXPECT_FALSE(cached.Process(2, "", 1, out.data()).ok());
  EXPECT_FALSE(
      cached.Process(3, "\x89PNG\r\n\x1a\nbroken", 1, out.data()).ok());
  EXPECT_EQ(cache->stats().entries, 0u);
  // A good image still decodes after the errors.
  const std::string china = ReadFileOrEmpty(DebianPhotoPath("china"));
  EXPECT_OK(cached.Process(4, china, 1, out.data()));
  EXPECT_EQ(cache->stats().entries, 1u);
}

}  // namespace
}  // namespace inputserve
