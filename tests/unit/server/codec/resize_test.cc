#include "server/codec/resize.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "server/codec/rng.h"

namespace inputserve {
namespace {

std::vector<uint8_t> Random(int w, int h, uint64_t seed) {
  std::vector<uint8_t> v(static_cast<size_t>(w) * h * 3);
  Rng rng(seed);
  for (uint8_t& b : v) b = static_cast<uint8_t>(rng.Next());
  return v;
}

// Double-precision crop-then-resize with the documented conventions.
std::vector<uint8_t> Reference(const std::vector<uint8_t>& src, int sw, int x0,
                               int y0, int cw, int ch, int ow, int oh,
                               bool flip) {
  std::vector<uint8_t> out(static_cast<size_t>(ow) * oh * 3);
  auto coord = [](int o, int size, int out_size) {
    double u = (o + 0.5) * size / out_size - 0.5;
    return std::min(std::max(u, 0.0), size - 1.0);
  };
  for (int oy = 0; oy < oh; ++oy) {
    const double v = coord(oy, ch, oh);
    const int j0 = static_cast<int>(v), j1 = std::min(j0 + 1, ch - 1);
    for (int ox = 0; ox < ow; ++ox) {
      const double u = coord(flip ? ow - 1 - ox : ox, cw, ow);
      const int i0 = static_cast<int>(u), i1 = std::min(i0 + 1, cw - 1);
      for (int c = 0; c < 3; ++c) {
        auto at = [&](int i, int j) {
          return src[((y0 + j) * static_cast<size_t>(sw) + x0 + i) * 3 + c];
        };
        const double fx = u - i0, fy = v - j0;
        const double val =
            (at(i0, j0) * (1 - fx) + at(i1, j0) * fx) * (1 - fy) +
            (at(i0, j1) * (1 - fx) + at(i1, j1) * fx) * fy;
        out[(static_cast<size_t>(oy) * ow + ox) * 3 + c] =
            static_cast<uint8_t>(std::lround(val));
      }
    }
  }
  return out;
}

TEST(ResizeTest, IdentityCopiesExactly) {
  const auto src = Random(17, 9, 1);
  std::vector<uint8_t> out(src.size());
  CropResizeBilinear({src.data(), 17, 9, 17 * 3}, {0, 0, 17, 9, 1}, 17, 9,
                     false, out.data());
  EXPECT_EQ(out, src);
}

TEST(ResizeTest, FlipMirrorsColumns) {
  const auto src = Random(20, 10, 2);
  std::vector<uint8_t> a(8 * 6 * 3), b(a.size());
  const WindowF win{3, 2, 13, 7, 1};
  CropResizeBilinear({src.data(), 20, 10, 60}, win, 8, 6, false, a.data());
  CropResizeBilinear({src.data(), 20, 10, 60}, win, 8, 6, true, b.data());
  for (int y = 0; y < 6; ++y) {
    for (int x = 0; x < 8; ++x) {
      for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(a[(y * 8 + x) * 3 + c], b[(y * 8 + 7 - x) * 3 + c]);
      }
    }
  }
}

TEST(ResizeTest, MatchesDoublePrecisionReferenceWithinOneLevel) {
  const int sw = 50, sh = 40;
  const auto src = Random(sw, sh, 3);
  struct Case {
    int x, y, w, h, ow, oh;
    bool flip;
  };
  for (const Case& k : {Case{5, 7, 30, 20, 12, 9, false},    // Downscale.
                        Case{10, 3, 6, 5, 23, 17, true},     // Upscale.
                        Case{0, 0, 50, 40, 50, 40, false},   // Identity.
                        Case{49, 39, 1, 1, 4, 4, false}}) {  // One pixel.
    std::vector<uint8_t> out(static_cast<size_t>(k.ow) * k.oh * 3);
    CropResizeBilinear({src.data(), sw, sh, sw * 3},
                       {double(k.x), double(k.y), double(k.w), double(k.h), 1},
                       k.ow, k.oh, k.flip, out.data());
    const auto want =
        Reference(src, sw, k.x, k.y, k.w, k.h, k.ow, k.oh, k.flip);
    for (size_t i = 0; i < out.size(); ++i) {
      ASSERT_LE(std::abs(out[i] - want[i]), 1)
          << "case x=" << k.x << " i=" << i;
    }
  }
}

TEST(ResizeTest, SamplesStayInsideTheWindow) {
  // Outside the window the image is white, inside black: no output pixel
  // may pick up white, even when upscaling at the edges.
  const int sw = 30, sh = 30;
  std::vector<uint8_t> src(sw * sh * 3, 255);
  for (int y = 10; y < 20; ++y) {
    for (int x = 8; x < 22; ++x) {
      for (int c = 0; c < 3; ++c) src[(y * sw + x) * 3 + c] = 0;
    }
  }
  std::vector<uint8_t> out(40 * 40 * 3);
  CropResizeBilinear({src.data(), sw, sh, sw * 3}, {8, 10, 14, 10, 1}, 40, 40,
                     false, out.data());
  for (uint8_t v : out) ASSERT_EQ(v, 0);
}

}  // namespace
}  // namespace inputserve
