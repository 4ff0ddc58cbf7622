// Augmentation geometry: which window of an image to keep (ResNet ImageNet
// random-resized-crop, evaluation center crop) and the Keras CIFAR ResNet
// pad-crop-flip. Pure functions; thread-safe.
#ifndef INPUTSERVE_SERVER_CODEC_AUGMENT_H_
#define INPUTSERVE_SERVER_CODEC_AUGMENT_H_

#include <cstdint>

#include "server/codec/rng.h"

namespace inputserve {

// An integer window of an image, in the image's own pixel coordinates.
struct CropWindow {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;

  bool operator==(const CropWindow& o) const {
    return x == o.x && y == o.y && width == o.width && height == o.height;
  }
};

// ResNet ImageNet training crop: area fraction uniform in [0.08, 1], aspect
// ratio log-uniform in [3/4, 4/3], up to 10 attempts; if none fits, the
// largest centered window whose aspect ratio is in range. width, height > 0.
CropWindow RandomResizedCropWindow(int width, int height, Rng& rng);

// Evaluation crop: the window that "resize the shorter side to
// out_size / 0.875, then center crop out_size" keeps, in source pixels.
CropWindow CenterCropWindow(int width, int height);

// Keras CIFAR ResNet training augmentation on one 32x32 CIFAR image stored
// channel-major (R plane, G plane, B plane): zero-pad 4 pixels on each side,
// take a random 32x32 crop, flip horizontally with p = 0.5; writes HWC. With
// rng == nullptr it only converts channel-major to HWC.
constexpr int kCifarSide = 32;
constexpr int kCifarImageBytes = kCifarSide * kCifarSide * 3;
void CifarToHwc(const uint8_t* chw, Rng* rng, uint8_t* hwc);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CODEC_AUGMENT_H_
