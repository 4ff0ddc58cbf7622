// CropResizeBilinear: crop a window out of an RGB image and resize it with
// bilinear interpolation, optionally mirrored, in one pass (crop before
// resize, nothing materialised in between). Fixed-point; thread-safe.
#ifndef INPUTSERVE_SERVER_CODEC_RESIZE_H_
#define INPUTSERVE_SERVER_CODEC_RESIZE_H_

#include <cstddef>
#include <cstdint>

namespace inputserve {

// Interleaved RGB pixels, `stride` bytes per row.
struct RgbView {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  size_t stride = 0;
};

// A window in a view's pixel-edge coordinates (pixel i spans [i, i+1)). It
// may be fractional when the view is a DCT-downscaled decode: then `pixel` is
// the width of one original pixel in view pixels (1/scale_denom), so that the
// window samples exactly where a full-size decode would.
struct WindowF {
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
  double pixel = 1.0;
};

// Writes out_width x out_height x 3 bytes. Sample centres follow the
// half-pixel convention (TF2 resize, torchvision): output pixel o samples
// window position (o + 0.5) * size / out_size; samples are clamped to the
// window's outermost original pixels, as if the window had been cropped out
// first. With `flip`, output column o shows what column out_width-1-o would.
void CropResizeBilinear(const RgbView& src, const WindowF& window,
                        int out_width, int out_height, bool flip, uint8_t* out);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CODEC_RESIZE_H_
