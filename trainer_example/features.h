// Turns a slice of NHWC uint8 images into the float features the linear
// model trains on: average-pooled to at most `max_side` x `max_side`, scaled
// to [0, 1] and mean-subtracted. Pooling keeps a step cheap on ImageNet-size
// images (224x224 -> 32x32) while keeping the coarse structure a linear
// classifier can use. Pure functions: thread-safe.
#ifndef INPUTSERVE_TRAINER_EXAMPLE_FEATURES_H_
#define INPUTSERVE_TRAINER_EXAMPLE_FEATURES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "trainer_example/feature_spec.h"

namespace inputserve::trainer {

// Chooses the smallest pool window that brings both sides to <= max_side.
// INVALID_ARGUMENT when a size is not positive.
absl::StatusOr<FeatureSpec> MakeFeatureSpec(int height, int width, int channels,
                                            int max_side);

// Writes n x spec.dim() floats to `out`: pooled pixel / 255 - mean[f]. `mean`
// may be null (nothing subtracted).
void FeaturizeCpu(const FeatureSpec& spec, const uint8_t* images, int n,
                  const float* mean, float* out);

// Per-feature mean of the (unsubtracted) features of n images; the trainer
// fixes it from the first batch so every later step sees the same inputs.
std::vector<float> MeanFeatures(const FeatureSpec& spec, const uint8_t* images,
                                int n);

}  // namespace inputserve::trainer

#endif  // INPUTSERVE_TRAINER_EXAMPLE_FEATURES_H_
