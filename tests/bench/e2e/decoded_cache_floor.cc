#include "tests/bench/e2e/decoded_cache_floor.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "server/codec/decoded_cache.h"
#include "server/codec/image_preprocessor.h"
#include "tests/bench/decode/entropy_floor.h"

namespace inputserve::bench {

namespace {

// A RAM cache with the server's defaults and a preprocessor that fills it.
struct CachePath {
  explicit CachePath(std::unique_ptr<DecodedCache> c)
      : cache(std::move(c)),
        fallback(PreprocessOptions()),
        cached(cache.get(), &fallback) {}
  std::unique_ptr<DecodedCache> cache;
  ImagePreprocessor fallback;
  CachedPreprocessor cached;
};

absl::StatusOr<std::unique_ptr<CachePath>> NewCachePath() {
  DecodedCacheOptions o;
  o.where = "ram";
  INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<DecodedCache> cache,
                              DecodedCache::Create(o));
  return std::make_unique<CachePath>(std::move(cache));
}

}  // namespace

absl::StatusOr<DecodedCacheFloor> MeasureDecodedCacheFloor(
    const std::vector<std::string>& jpegs, double seconds) {
  if (jpegs.empty()) return absl::InvalidArgumentError("no images");
  const PreprocessOptions po;
  std::vector<uint8_t> out(static_cast<size_t>(po.out_size) * po.out_size * 3);
  DecodedCacheFloor floor;
  // Misses: a fresh cache per pass, so every image is decoded and stored.
  int images = 0;
  double start = ThreadCpuSeconds();
  while (ThreadCpuSeconds() - start < seconds) {
    INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<CachePath> path,
                                NewCachePath());
    for (size_t i = 0; i < jpegs.size(); ++i, ++images) {
      INPUTSERVE_RETURN_IF_ERROR(
          path->cached.Process(i, jpegs[i], i, out.data()));
    }
  }
  floor.miss_ms = (ThreadCpuSeconds() - start) / images * 1e3;
  // Hits: one cache filled once, then crops with ever new seeds.
  INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<CachePath> path, NewCachePath());
  for (size_t i = 0; i < jpegs.size(); ++i) {
    INPUTSERVE_RETURN_IF_ERROR(
        path->cached.Process(i, jpegs[i], 0, out.data()));
  }
  images = 0;
  uint64_t seed = 1;
  start = ThreadCpuSeconds();
  while (ThreadCpuSeconds() - start < seconds) {
    for (size_t i = 0; i < jpegs.size(); ++i, ++images) {
      INPUTSERVE_RETURN_IF_ERROR(
          path->cached.Process(i, jpegs[i], seed++, out.data()));
    }
  }
  floor.hit_ms = (ThreadCpuSeconds() - start) / images * 1e3;
  return floor;
}

}  // namespace inputserve::bench
