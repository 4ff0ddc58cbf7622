// The floor of the --decoded_cache path: CPU per image of the server's own
// CachedPreprocessor on one thread, for a hit (crop + resize + flip from the
// cached pixels: all that epochs >= 2 do per image) and for a miss (the
// whole-image decode and reduction epoch 1 pays). Functions only.
#ifndef INPUTSERVE_TESTS_BENCH_E2E_DECODED_CACHE_FLOOR_H_
#define INPUTSERVE_TESTS_BENCH_E2E_DECODED_CACHE_FLOOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace inputserve::bench {

struct DecodedCacheFloor {
  double hit_ms = 0;   // CPU ms per image, cached.
  double miss_ms = 0;  // CPU ms per image, decoded and stored.
};

// Over `jpegs` (each its own record), out_size 224, the server's default
// margin, for at least `seconds` of CPU per figure.
absl::StatusOr<DecodedCacheFloor> MeasureDecodedCacheFloor(
    const std::vector<std::string>& jpegs, double seconds);

}  // namespace inputserve::bench

#endif  // INPUTSERVE_TESTS_BENCH_E2E_DECODED_CACHE_FLOOR_H_
