#include "server/codec/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace inputserve {
namespace {

// 8-bit weights: the vertical pass keeps a*(256-w)+b*w exactly in 16 bits
// (so it vectorises on 16-bit lanes), the horizontal pass in 32 bits, and
// rounding happens once at the end.
constexpr int kFracBits = 8;
constexpr int kOne = 1 << kFracBits;

struct Tap {
  int i0;  // First source index.
  int i1;  // Second source index (== i0 at the edge).
  int w;   // Weight of i1 in 1/kOne.
};

// Taps for each output position along one axis.
std::vector<Tap> MakeTaps(double start, double size, double pixel, int limit,
                          int out) {
  std::vector<Tap> taps(out);
  // Centres of the window's first and last original pixels, in view indices.
  const double lo = std::max(0.0, start + 0.5 * pixel - 0.5);
  const double hi =
      std::min<double>(limit - 1, start + size - 0.5 * pixel - 0.5);
  const double step = size / out;
  for (int o = 0; o < out; ++o) {
    double u = start + (o + 0.5) * step - 0.5;
    u = std::min(std::max(u, lo), std::max(lo, hi));
    int i0 = static_cast<int>(std::floor(u));
    int w = static_cast<int>(std::lround((u - i0) * kOne));
    if (w == kOne) {
      ++i0;
      w = 0;
    }
    i0 = std::min(std::max(i0, 0), limit - 1);
    const int i1 = std::min(i0 + 1, limit - 1);
    taps[o] = {i0, i1, i1 == i0 ? 0 : w};
  }
  return taps;
}

// Vertical pass over the columns the output needs: contiguous 16-bit
// arithmetic that the compiler vectorises (AVX2 where the CPU has it).
__attribute__((target_clones("avx2", "default"))) void BlendRows(
    const uint8_t* a, const uint8_t* b, int n, int w, uint16_t* out) {
  const uint16_t wb = static_cast<uint16_t>(w);
  const uint16_t wa = static_cast<uint16_t>(kOne - w);
  for (int i = 0; i < n; ++i) {
    out[i] = static_cast<uint16_t>(a[i] * wa + b[i] * wb);
  }
}

// Horizontal pass from the blended row: output pixel o blends the pixel at
// offset[o] with the next one (the row carries one spare pixel at the end,
// so the second tap is always in bounds; its weight is 0 at the edge).
void InterpolateRow(const uint16_t* row, const int32_t* offset,
                    const uint16_t* weight, int n, uint8_t* out) {
  constexpr uint32_t kRound = 1u << (2 * kFracBits - 1);
  for (int o = 0; o < n; ++o) {
    const uint16_t* a = row + offset[o];
    const uint32_t w = weight[o];
    const uint32_t iw = kOne - w;
    out[0] = static_cast<uint8_t>((a[0] * iw + a[3] * w + kRound) >>
                                  (2 * kFracBits));
    out[1] = static_cast<uint8_t>((a[1] * iw + a[4] * w + kRound) >>
                                  (2 * kFracBits));
    out[2] = static_cast<uint8_t>((a[2] * iw + a[5] * w + kRound) >>
                                  (2 * kFracBits));
    out += 3;
  }
}

}  // namespace

void CropResizeBilinear(const RgbView& src, const WindowF& window,
                        int out_width, int out_height, bool flip,
                        uint8_t* out) {
  std::vector<Tap> xt =
      MakeTaps(window.x, window.width, window.pixel, src.width, out_width);
  if (flip) std::reverse(xt.begin(), xt.end());
  const std::vector<Tap> yt =
      MakeTaps(window.y, window.height, window.pixel, src.height, out_height);
  // Only the source columns some tap reads take part in the vertical pass.
  int first = src.width, last = 0;
  for (const Tap& t : xt) {
    first = std::min(first, t.i0);
    last = std::max(last, t.i1);
  }
  std::vector<int32_t> offset(out_width);
  std::vector<uint16_t> weight(out_width);
  for (int o = 0; o < out_width; ++o) {
    offset[o] = 3 * (xt[o].i0 - first);
    weight[o] = static_cast<uint16_t>(xt[o].w);
  }
  const int span = 3 * (last - first + 1);
  std::vector<uint16_t> blended(span + 3, 0);  // + the spare pixel.
  for (int oy = 0; oy < out_height; ++oy) {
    const Tap& t = yt[oy];
    const size_t col = 3 * static_cast<size_t>(first);
    BlendRows(src.data + static_cast<size_t>(t.i0) * src.stride + col,
              src.data + static_cast<size_t>(t.i1) * src.stride + col, span,
              t.w, blended.data());
    InterpolateRow(blended.data(), offset.data(), weight.data(), out_width,
                   out + static_cast<size_t>(oy) * out_width * 3);
  }
}

}  // namespace inputserve
