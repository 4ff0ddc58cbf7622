#include "server/codec/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace inputserve {
namespace {

constexpr int kFracBits = 11;  // Weights in 1/2048: products fit int32.
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

// Horizontal pass of one source row into kOne-scaled values.
void InterpolateRow(const uint8_t* row, const std::vector<Tap>& xt,
                    int32_t* dst) {
  const int n = static_cast<int>(xt.size());
  for (int o = 0; o < n; ++o) {
    const uint8_t* a = row + 3 * xt[o].i0;
    const uint8_t* b = row + 3 * xt[o].i1;
    const int w = xt[o].w, iw = kOne - w;
    dst[3 * o + 0] = a[0] * iw + b[0] * w;
    dst[3 * o + 1] = a[1] * iw + b[1] * w;
    dst[3 * o + 2] = a[2] * iw + b[2] * w;
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
  const int row_values = 3 * out_width;
  // Two cached horizontally-interpolated rows; output rows walk the source
  // downwards, so each source row is interpolated once.
  std::vector<int32_t> cache(2 * row_values);
  int32_t* rows[2] = {cache.data(), cache.data() + row_values};
  int cached[2] = {-1, -1};
  auto get_row = [&](int index) -> const int32_t* {
    for (int k = 0; k < 2; ++k) {
      if (cached[k] == index) return rows[k];
    }
    // Replace the slot holding the smaller (older) row.
    const int k = cached[0] < cached[1] ? 0 : 1;
    InterpolateRow(src.data + static_cast<size_t>(index) * src.stride, xt,
                   rows[k]);
    cached[k] = index;
    return rows[k];
  };
  constexpr int kShift = 2 * kFracBits;
  constexpr int32_t kRound = 1 << (kShift - 1);
  for (int oy = 0; oy < out_height; ++oy) {
    const Tap& t = yt[oy];
    const int32_t* r0 = get_row(t.i0);
    const int32_t* r1 = get_row(t.i1);
    const int32_t w = t.w, iw = kOne - t.w;
    uint8_t* dst = out + static_cast<size_t>(oy) * row_values;
    for (int i = 0; i < row_values; ++i) {
      dst[i] =
          static_cast<uint8_t>((r0[i] * iw + r1[i] * w + kRound) >> kShift);
    }
  }
}

}  // namespace inputserve
