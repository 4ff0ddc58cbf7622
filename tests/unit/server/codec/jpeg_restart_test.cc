// Restart-marker crops: the rewrite is lossless, the index and the cutter
// keep every coefficient, the restart path equals today's region decode in
// the crop interior (border difference measured and printed), and hostile
// input is rejected cleanly.
#include "server/codec/jpeg_restart.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "codec_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/codec/image_preprocessor.h"
#include "server/codec/jpeg_decoder.h"
#include "server/codec/rng.h"
#include "tests/testing/status_matchers.h"

namespace inputserve {
namespace {

using ::inputserve::testing::EncodeJpeg;
using ::inputserve::testing::EncodeRgb;
using ::inputserve::testing::ReadFileOrEmpty;
using ::inputserve::testing::RealPhotoPaths;
using ::inputserve::testing::StatusIs;
using ::inputserve::testing::TestImage;

struct Sample {
  std::string name;
  std::string jpeg;
};

// Generated images of every layout the cutter must handle, plus the real
// photographs Debian ships (when installed).
std::vector<Sample> Samples() {
  std::vector<Sample> s = {
      {"420", EncodeRgb(613, 419, TJSAMP_420)},
      {"422", EncodeRgb(500, 333, TJSAMP_422)},
      {"444", EncodeRgb(401, 299, TJSAMP_444)},
      {"gray",
       EncodeJpeg(TestImage(257, 190), 257, 190, TJPF_RGB, TJSAMP_GRAY)},
      {"progressive 420", EncodeRgb(640, 427, TJSAMP_420, TJFLAG_PROGRESSIVE)},
  };
  std::vector<uint8_t> cmyk(static_cast<size_t>(96) * 80 * 4);
  for (size_t i = 0; i < cmyk.size(); ++i) cmyk[i] = (i * 37) & 0xFF;
  s.push_back({"cmyk", EncodeJpeg(cmyk, 96, 80, TJPF_CMYK, TJSAMP_444, 95)});
  for (const std::string& path : RealPhotoPaths()) {
    std::string jpeg = ReadFileOrEmpty(path);
    if (!jpeg.empty()) s.push_back({path, std::move(jpeg)});
  }
  return s;
}

DecodedImage Full(JpegDecoder& dec, absl::string_view jpeg, int denom) {
  DecodedImage img;
  EXPECT_TRUE(dec.DecodeFull(jpeg, denom, &img).ok());
  return img;
}

TEST(JpegRestartTest, RewriteIsLosslessAndIndexFollowsTheRule) {
  JpegDecoder dec;
  for (const Sample& s : Samples()) {
    ASSERT_FALSE(s.jpeg.empty()) << s.name;
    absl::StatusOr<std::string> rw = RewriteWithRestarts(s.jpeg);
    ASSERT_TRUE(rw.ok()) << s.name << ": " << rw.status();
    EXPECT_EQ(Full(dec, s.jpeg, 1).pixels, Full(dec, *rw, 1).pixels) << s.name;
    RestartIndex index;
    ASSERT_TRUE(ParseRestartIndex(*rw, &index).ok()) << s.name;
    EXPECT_EQ(index.mcus_per_row % index.restart_interval, 0) << s.name;
    EXPECT_LE(index.restart_interval * index.mcu_width, kMaxRestartPixels);
    // The longest allowed interval: none longer also divides the row.
    for (int d = index.restart_interval + 1;
         d * index.mcu_width <= kMaxRestartPixels && d <= index.mcus_per_row;
         ++d) {
      EXPECT_NE(index.mcus_per_row % d, 0) << s.name << " could use " << d;
    }
    EXPECT_EQ(index.begin.size(), static_cast<size_t>(index.mcus_per_row) *
                                      index.mcu_rows / index.restart_interval);
    std::printf("%-52s %6zu -> %6zu bytes (%+.1f%%), interval %d MCUs\n",
                s.name.c_str(), s.jpeg.size(), rw->size(),
                100.0 * (static_cast<double>(rw->size()) / s.jpeg.size() - 1),
                index.restart_interval);
  }
}

// Plain and progressive JPEGs have no restart layout: the caller decodes
// them the ordinary way.
TEST(JpegRestartTest, JpegsWithoutRestartsAreFailedPrecondition) {
  RestartIndex index;
  EXPECT_THAT(ParseRestartIndex(EncodeRgb(64, 48), &index),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(ParseRestartIndex(
                  EncodeRgb(64, 48, TJSAMP_420, TJFLAG_PROGRESSIVE), &index),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// At scale 1 without chroma upsampling (4:4:4, gray) a cut decodes to
// exactly the pixels of the whole image: every coefficient was kept.
TEST(JpegRestartTest, CutKeepsEveryCoefficient) {
  JpegDecoder dec;
  Rng rng(7);
  for (const Sample& s : Samples()) {
    if (s.name != "444" && s.name != "gray" && s.name != "cmyk") continue;
    const std::string rw = *RewriteWithRestarts(s.jpeg);
    RestartIndex index;
    ASSERT_TRUE(ParseRestartIndex(rw, &index).ok());
    const DecodedImage full = Full(dec, rw, 1);
    for (int trial = 0; trial < 20; ++trial) {
      McuRect r;
      r.x0 = static_cast<int>(rng.Below(index.mcus_per_row));
      r.y0 = static_cast<int>(rng.Below(index.mcu_rows));
      r.x1 = r.x0 + 1 + static_cast<int>(rng.Below(index.mcus_per_row - r.x0));
      r.y1 = r.y0 + 1 + static_cast<int>(rng.Below(index.mcu_rows - r.y0));
      CutJpeg cut;
      ASSERT_TRUE(CutCrop(rw, index, r, &cut).ok());
      const DecodedImage part = Full(dec, cut.bytes, 1);
      ASSERT_EQ(part.width, cut.width);
      ASSERT_EQ(part.height, cut.height);
      EXPECT_LE(cut.x, r.x0 * index.mcu_width);
      for (int y = 0; y < part.height; ++y) {
        const uint8_t* a =
            &part.pixels[static_cast<size_t>(y) * part.width * 3];
        const uint8_t* b =
            &full.pixels[(static_cast<size_t>(cut.y + y) * full.width + cut.x) *
                         3];
        ASSERT_TRUE(std::equal(a, a + part.width * 3, b))
            << s.name << " row " << y << " of cut at " << cut.x << "," << cut.y;
      }
    }
  }
}

// The restart path against today's region decode, on the windows the
// training crop picks at the scale it picks: identical more than one MCU
// inside the window's edges; at the edges chroma upsampling sees different
// neighbours. Prints the border figures.
TEST(JpegRestartTest, RestartPathEqualsRegionDecodeInTheCropInterior) {
  JpegDecoder dec;
  int border_max = 0;
  double border_sum = 0;
  size_t border_n = 0, interior_n = 0;
  for (const Sample& s : Samples()) {
    const std::string rw = *RewriteWithRestarts(s.jpeg);
    RestartIndex index;
    ASSERT_TRUE(ParseRestartIndex(rw, &index).ok());
    for (uint64_t seed = 0; seed < 40; ++seed) {
      const CropPlan plan = PlanCrop(index.width, index.height, true, seed);
      RegionRequest req;
      req.window = plan.window;
      req.scale_denom = ChooseScaleDenom(plan.window, 64, 8);
      auto fixed = [&](const JpegHeader&) -> absl::StatusOr<RegionRequest> {
        return req;
      };
      DecodedImage today, cut;
      ASSERT_TRUE(dec.DecodeRegion(rw, fixed, &today).ok());
      absl::StatusOr<JpegHeader> h =
          dec.DecodeRegionWithRestarts(rw, index, fixed, &cut);
      ASSERT_TRUE(h.ok()) << s.name << ": " << h.status();
      EXPECT_EQ(h->width, index.width);
      const int d = req.scale_denom;
      const CropWindow& w = plan.window;
      const int x0 = w.x / d, y0 = w.y / d;
      const int x1 = (w.x + w.width) / d, y1 = (w.y + w.height) / d;
      const int mx = std::max(1, index.mcu_width / d);
      const int my = std::max(1, index.mcu_height / d);
      for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
          const uint8_t* a =
              &today.pixels[((y - today.y) * today.width + (x - today.x)) * 3];
          const uint8_t* b =
              &cut.pixels[((y - cut.y) * cut.width + (x - cut.x)) * 3];
          const bool interior =
              x >= x0 + mx && x < x1 - mx && y >= y0 + my && y < y1 - my;
          for (int c = 0; c < 3; ++c) {
            const int diff = std::abs(a[c] - b[c]);
            if (interior) {
              ASSERT_EQ(diff, 0) << s.name << " seed " << seed << " at " << x
                                 << "," << y << " scale 1/" << d;
              ++interior_n;
            } else {
              border_max = std::max(border_max, diff);
              border_sum += diff;
              ++border_n;
            }
          }
        }
      }
    }
  }
  const double border_mean = border_sum / std::max<size_t>(border_n, 1);
  std::printf(
      "restart path vs region decode: interior %zu samples identical; "
      "border band (one MCU) %zu samples, max |diff| %d, mean %.4f\n",
      interior_n, border_n, border_max, border_mean);
  EXPECT_GT(interior_n, 0u);
  EXPECT_LE(border_max, 64);
  EXPECT_LT(border_mean, 0.5);
}

// The server's whole preprocessing: original bytes (today's fast path)
// against rewritten bytes (restart path), 224x224 outputs.
TEST(JpegRestartTest, PreprocessedOutputsAgreeAndIndexedPathIsTheSame) {
  PreprocessOptions o;
  ImagePreprocessor p(o);
  std::vector<uint8_t> a(224 * 224 * 3), b(a.size()), c(a.size());
  int max_diff = 0;
  double mean_sum = 0;
  int n = 0;
  for (const Sample& s : Samples()) {
    const std::string rw = *RewriteWithRestarts(s.jpeg);
    RestartIndex index;
    ASSERT_TRUE(ParseRestartIndex(rw, &index).ok());
    for (uint64_t seed = 0; seed < 20; ++seed) {
      ASSERT_TRUE(p.Process(s.jpeg, seed, a.data()).ok());
      ASSERT_TRUE(p.Process(rw, seed, b.data()).ok());
      ASSERT_TRUE(p.ProcessIndexed(rw, index, seed, c.data()).ok());
      EXPECT_EQ(b, c) << s.name;
      if (testing::MaxAbsDiff(a, b) > 0) {
        std::printf("  %s seed %llu: max |diff| %d\n", s.name.c_str(),
                    static_cast<unsigned long long>(seed),
                    testing::MaxAbsDiff(a, b));
      }
      max_diff = std::max(max_diff, testing::MaxAbsDiff(a, b));
      mean_sum += testing::MeanAbsDiff(a, b);
      ++n;
    }
  }
  std::printf(
      "224x224 outputs, restart path vs today's fast path: "
      "max |diff| %d, mean %.6f over %d crops\n",
      max_diff, mean_sum / n, n);
  EXPECT_LT(mean_sum / n, 0.5);
}

TEST(JpegRestartTest, HostileInputIsRejectedCleanly) {
  EXPECT_THAT(RewriteWithRestarts(""), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(RewriteWithRestarts("not a jpeg at all"),
              StatusIs(absl::StatusCode::kDataLoss));
  const std::string truncated =
      ReadFileOrEmpty(testing::DebianPhotoPath("truncated"));
  if (!truncated.empty()) {
    EXPECT_FALSE(RewriteWithRestarts(truncated).ok());
  }
  const std::string rw = *RewriteWithRestarts(EncodeRgb(200, 120));
  RestartIndex index;
  ASSERT_TRUE(ParseRestartIndex(rw, &index).ok());
  // Cut short: no EOI.
  EXPECT_THAT(ParseRestartIndex(rw.substr(0, rw.size() / 2), &index),
              StatusIs(absl::StatusCode::kDataLoss));
  // A restart marker renumbered out of sequence.
  std::string bad = rw;
  const size_t rst = bad.find("\xFF\xD1");
  ASSERT_NE(rst, std::string::npos);
  bad[rst + 1] = '\xD5';
  EXPECT_THAT(ParseRestartIndex(bad, &index),
              StatusIs(absl::StatusCode::kDataLoss));
  // A frame header claiming 40000 x 40000 pixels.
  bad = rw;
  const size_t sof = bad.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  bad[sof + 5] = bad[sof + 7] = '\x9C';
  bad[sof + 6] = bad[sof + 8] = '\x40';
  EXPECT_THAT(ParseRestartIndex(bad, &index),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RewriteWithRestarts(bad),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Rectangles outside the image.
  ASSERT_TRUE(ParseRestartIndex(rw, &index).ok());
  CutJpeg cut;
  EXPECT_THAT(CutCrop(rw, index, McuRect{0, 0, 0, 1}, &cut),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      CutCrop(rw, index, McuRect{0, 0, index.mcus_per_row + 1, 1}, &cut),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CutCrop(rw, index, McuRect{-1, 0, 1, 1}, &cut),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // An index of other bytes.
  EXPECT_THAT(CutCrop(rw.substr(0, 100), index, McuRect{0, 0, 1, 1}, &cut),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Every single-byte change of a rewritten JPEG either fails to parse, or
// parses and then cuts and decodes (possibly with an error), never crashes.
TEST(JpegRestartTest, CorruptedBytesNeverCrash) {
  const std::string rw = *RewriteWithRestarts(EncodeRgb(96, 64));
  JpegDecoder dec;
  RestartIndex index;
  DecodedImage img;
  Rng rng(3);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bad = rw;
    bad[rng.Below(bad.size())] = static_cast<char>(rng.Below(256));
    if (!ParseRestartIndex(bad, &index).ok()) continue;
    (void)dec.DecodeRegionWithRestarts(
        bad, index,
        [&](const JpegHeader& h) -> absl::StatusOr<RegionRequest> {
          RegionRequest r;
          r.window =
              CropWindow{h.width / 4, h.height / 4, h.width / 2, h.height / 2};
          return r;
        },
        &img);
  }
}

}  // namespace
}  // namespace inputserve
