#include "server/codec/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace inputserve {
namespace {

constexpr double kMinArea = 0.08;
constexpr double kMaxArea = 1.0;
constexpr double kMinRatio = 3.0 / 4.0;
constexpr double kMaxRatio = 4.0 / 3.0;
constexpr int kAttempts = 10;
constexpr double kEvalCropFraction = 0.875;
constexpr int kCifarPad = 4;

}  // namespace

CropWindow RandomResizedCropWindow(int width, int height, Rng& rng) {
  const double area = static_cast<double>(width) * height;
  const double log_lo = std::log(kMinRatio);
  const double log_hi = std::log(kMaxRatio);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const double target_area = area * rng.Uniform(kMinArea, kMaxArea);
    const double ratio = std::exp(rng.Uniform(log_lo, log_hi));
    const int w = static_cast<int>(std::lround(std::sqrt(target_area * ratio)));
    const int h = static_cast<int>(std::lround(std::sqrt(target_area / ratio)));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      CropWindow win;
      win.width = w;
      win.height = h;
      win.x = static_cast<int>(rng.Below(width - w + 1));
      win.y = static_cast<int>(rng.Below(height - h + 1));
      return win;
    }
  }
  // Fallback: the whole image, narrowed to the nearest allowed aspect ratio.
  const double in_ratio = static_cast<double>(width) / height;
  CropWindow win{0, 0, width, height};
  if (in_ratio < kMinRatio) {
    win.height = std::max(1, static_cast<int>(std::lround(width / kMinRatio)));
  } else if (in_ratio > kMaxRatio) {
    win.width = std::max(1, static_cast<int>(std::lround(height * kMaxRatio)));
  }
  win.width = std::min(win.width, width);
  win.height = std::min(win.height, height);
  win.x = (width - win.width) / 2;
  win.y = (height - win.height) / 2;
  return win;
}

CropWindow CenterCropWindow(int width, int height) {
  const int side =
      std::max(1, static_cast<int>(std::lround(std::min(width, height) *
                                               kEvalCropFraction)));
  return CropWindow{(width - side) / 2, (height - side) / 2, side, side};
}

void CifarToHwc(const uint8_t* chw, Rng* rng, uint8_t* hwc) {
  constexpr int kPlane = kCifarSide * kCifarSide;
  int dx = 0, dy = 0;  // Source offset of the crop; 0 = no translation.
  bool flip = false;
  if (rng != nullptr) {
    // A crop at (cx, cy) in the padded 40x40 image reads source pixel
    // (x + cx - 4, y + cy - 4).
    dx = static_cast<int>(rng->Below(2 * kCifarPad + 1)) - kCifarPad;
    dy = static_cast<int>(rng->Below(2 * kCifarPad + 1)) - kCifarPad;
    flip = rng->Coin();
  }
  if (dx == 0 && dy == 0 && !flip) {
    for (int i = 0; i < kPlane; ++i) {
      hwc[3 * i + 0] = chw[i];
      hwc[3 * i + 1] = chw[kPlane + i];
      hwc[3 * i + 2] = chw[2 * kPlane + i];
    }
    return;
  }
  for (int y = 0; y < kCifarSide; ++y) {
    uint8_t* row = hwc + y * kCifarSide * 3;
    const int sy = y + dy;
    if (sy < 0 || sy >= kCifarSide) {
      std::memset(row, 0, kCifarSide * 3);
      continue;
    }
    for (int x = 0; x < kCifarSide; ++x) {
      // Flip applies to the cropped image: output column x shows crop column
      // 31 - x.
      const int sx = (flip ? kCifarSide - 1 - x : x) + dx;
      uint8_t* px = row + 3 * x;
      if (sx < 0 || sx >= kCifarSide) {
        px[0] = px[1] = px[2] = 0;
        continue;
      }
      const int i = sy * kCifarSide + sx;
      px[0] = chw[i];
      px[1] = chw[kPlane + i];
      px[2] = chw[2 * kPlane + i];
    }
  }
}

}  // namespace inputserve
