// FeatureSpec: how an image maps to its feature vector. A plain struct with
// no dependencies so the CUDA translation unit can share it with the CPU code.
#ifndef INPUTSERVE_TRAINER_EXAMPLE_FEATURE_SPEC_H_
#define INPUTSERVE_TRAINER_EXAMPLE_FEATURE_SPEC_H_

#include <cstdint>

namespace inputserve::trainer {

// Feature (oy, ox, c), stored at index (oy * out_width + ox) * channels + c,
// is the mean of the pool x pool window at (oy * pool, ox * pool) of channel
// c; edge pixels that do not fill a whole window are dropped.
struct FeatureSpec {
  int height = 0;
  int width = 0;
  int channels = 0;
  int pool = 1;
  int out_height = 0;
  int out_width = 0;

  int dim() const { return out_height * out_width * channels; }
  int64_t image_bytes() const {
    return static_cast<int64_t>(height) * width * channels;
  }
};

}  // namespace inputserve::trainer

#endif  // INPUTSERVE_TRAINER_EXAMPLE_FEATURE_SPEC_H_
