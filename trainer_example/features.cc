#include "trainer_example/features.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace inputserve::trainer {

absl::StatusOr<FeatureSpec> MakeFeatureSpec(int height, int width, int channels,
                                            int max_side) {
  if (height <= 0 || width <= 0 || channels <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image shape must be positive, got height=", height,
                     " width=", width, " channels=", channels));
  }
  if (max_side <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "feature side must be positive (--feature_side), got ", max_side));
  }
  FeatureSpec spec;
  spec.height = height;
  spec.width = width;
  spec.channels = channels;
  const int longest = std::max(height, width);
  // Capped by the shorter side so every output cell has a whole window; a
  // very elongated image may then exceed max_side along its long side.
  spec.pool =
      std::min((longest + max_side - 1) / max_side, std::min(height, width));
  spec.out_height = height / spec.pool;
  spec.out_width = width / spec.pool;
  return spec;
}

void FeaturizeCpu(const FeatureSpec& spec, const uint8_t* images, int n,
                  const float* mean, float* out) {
  const int c_count = spec.channels;
  const int row_stride = spec.width * c_count;
  const float scale = 1.0f / (255.0f * spec.pool * spec.pool);
  std::vector<uint32_t> sums(static_cast<size_t>(spec.out_width) * c_count);
  for (int i = 0; i < n; ++i) {
    const uint8_t* image = images + i * spec.image_bytes();
    float* f = out + static_cast<int64_t>(i) * spec.dim();
    for (int oy = 0; oy < spec.out_height; ++oy) {
      // Sum whole pixel rows first: the inner loop runs over contiguous bytes.
      std::fill(sums.begin(), sums.end(), 0u);
      for (int dy = 0; dy < spec.pool; ++dy) {
        const uint8_t* row = image + (oy * spec.pool + dy) * row_stride;
        for (int ox = 0; ox < spec.out_width; ++ox) {
          const uint8_t* px = row + ox * spec.pool * c_count;
          uint32_t* s = &sums[ox * c_count];
          for (int dx = 0; dx < spec.pool; ++dx, px += c_count) {
            for (int c = 0; c < c_count; ++c) s[c] += px[c];
          }
        }
      }
      float* frow = f + oy * spec.out_width * c_count;
      for (int j = 0; j < spec.out_width * c_count; ++j) {
        frow[j] = sums[j] * scale -
                  (mean ? mean[oy * spec.out_width * c_count + j] : 0.0f);
      }
    }
  }
}

std::vector<float> MeanFeatures(const FeatureSpec& spec, const uint8_t* images,
                                int n) {
  std::vector<float> mean(spec.dim(), 0.0f);
  if (n <= 0) return mean;
  std::vector<float> features(static_cast<size_t>(spec.dim()));
  std::vector<double> sum(spec.dim(), 0.0);
  for (int i = 0; i < n; ++i) {
    FeaturizeCpu(spec, images + i * spec.image_bytes(), 1, nullptr,
                 features.data());
    for (int j = 0; j < spec.dim(); ++j) sum[j] += features[j];
  }
  for (int j = 0; j < spec.dim(); ++j) mean[j] = static_cast<float>(sum[j] / n);
  return mean;
}

}  // namespace inputserve::trainer
