// JPEG decode paths: region decode against full decode, scaled cropped
// decode against the full-size reference, colour spaces, corrupt input.
#include "server/codec/jpeg_decoder.h"

#include <climits>
#include <string>
#include <vector>

#include "codec_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/codec/image_preprocessor.h"
#include "tests/testing/debian_photos.h"
#include "tests/testing/status_matchers.h"

namespace inputserve {
namespace {

using ::testing::HasSubstr;

using ::inputserve::testing::EncodeJpeg;
using ::inputserve::testing::EncodeRgb;
using ::inputserve::testing::MaxAbsDiff;
using ::inputserve::testing::MeanAbsDiff;
using ::inputserve::testing::ReadFileOrEmpty;
using ::inputserve::testing::RealPhotoPaths;
using ::inputserve::testing::StatusIs;
using ::inputserve::testing::TestImage;

// Copies rows/columns of `img` (a decoded block at offset img.x, img.y).
std::vector<uint8_t> Sub(const DecodedImage& img, int x, int y, int w, int h) {
  std::vector<uint8_t> out;
  for (int r = 0; r < h; ++r) {
    const uint8_t* row =
        img.pixels.data() + ((y - img.y + r) * img.width + (x - img.x)) * 3;
    out.insert(out.end(), row, row + w * 3);
  }
  return out;
}

absl::StatusOr<RegionRequest> Req(CropWindow w, int denom) {
  RegionRequest r;
  r.window = w;
  r.scale_denom = denom;
  return r;
}

// The region decoder's pixels inside the window equal the full decode's, at
// every scale: cropping and skipping must not change what is decoded.
TEST(JpegDecoderTest, RegionDecodeMatchesFullDecodeInsideTheWindow) {
  for (int subsamp : {TJSAMP_420, TJSAMP_444, TJSAMP_422}) {
    const std::string jpeg = EncodeRgb(613, 419, subsamp);
    ASSERT_FALSE(jpeg.empty());
    JpegDecoder dec;
    for (int denom : {1, 2, 4, 8}) {
      DecodedImage full, region;
      ASSERT_TRUE(dec.DecodeFull(jpeg, denom, &full).ok());
      const CropWindow win{171, 97, 300, 250};
      absl::StatusOr<JpegHeader> h = dec.DecodeRegion(
          jpeg, [&](const JpegHeader&) { return Req(win, denom); }, &region);
      ASSERT_TRUE(h.ok()) << h.status();
      EXPECT_EQ(h->width, 613);
      EXPECT_EQ(h->height, 419);
      EXPECT_LE(region.x, win.x / denom);
      EXPECT_EQ(region.y, win.y / denom);
      EXPECT_LT(region.width, full.width);  // Columns were really cropped.
      const int x0 = win.x / denom, y0 = win.y / denom;
      const int w = (win.x + win.width) / denom - x0;
      const int hh = (win.y + win.height) / denom - y0;
      // Fancy upsampling at a cropped edge may read one different
      // neighbour: allow a tiny difference, expect most pixels exact.
      const auto a = Sub(region, x0, y0, w, hh);
      DecodedImage& f = full;
      const auto b = Sub(f, x0, y0, w, hh);
      EXPECT_LT(MeanAbsDiff(a, b), 0.05)
          << "subsamp " << subsamp << " 1/" << denom;
      EXPECT_LE(MaxAbsDiff(a, b), 3) << "subsamp " << subsamp << " 1/" << denom;
    }
  }
}

// The fast path (scaled region decode + resize) against the reference
// (full-size decode + the same crop + resize). DCT scaling low-pass filters
// before the resize, so they differ slightly: mean abs diff < 1.0 level on
// generated images, < 1.5 on real photos.
void ExpectFastMatchesReference(const std::string& jpeg, const char* what,
                                double tolerance) {
  PreprocessOptions opts;
  opts.out_size = 224;
  ImagePreprocessor fast(opts), ref(opts);
  absl::StatusOr<JpegHeader> header = JpegDecoder().ReadHeader(jpeg);
  ASSERT_TRUE(header.ok()) << what;
  const int w = header->width, h = header->height;
  struct Case {
    CropWindow win;
    bool flip;
  };
  const Case cases[] = {
      {{0, 0, w, h}, false},                          // Whole image.
      {{w / 8, h / 10, w / 2, h / 2}, true},          // Half, offset, flipped.
      {{w - w / 3, h - h / 3, w / 3, h / 3}, false},  // Bottom-right corner.
      {{w / 3, 5, 230, 230}, false},                  // ~out_size: scale 1.
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> a(224 * 224 * 3), b(a.size());
    auto plan = [&](int, int) { return CropPlan{c.win, c.flip}; };
    ASSERT_TRUE(fast.DecodeAndCrop(jpeg, plan, a.data()).ok()) << what;
    ASSERT_TRUE(ref.DecodeFullAndCrop(jpeg, plan, 1, b.data()).ok()) << what;
    const double mad = MeanAbsDiff(a, b);
    EXPECT_LT(mad, tolerance)
        << what << " window " << c.win.width << "x" << c.win.height << "+"
        << c.win.x << "+" << c.win.y;
    std::printf("[ info ] %s %dx%d window %dx%d: mean abs diff %.3f, max %d\n",
                what, w, h, c.win.width, c.win.height, mad, MaxAbsDiff(a, b));
  }
}

TEST(ImagePreprocessorTest, FastPathMatchesFullDecodeReference) {
  ExpectFastMatchesReference(EncodeRgb(1500, 1100), "generated", 1.0);
  ExpectFastMatchesReference(EncodeRgb(640, 427), "generated-small", 1.0);
}

TEST(ImagePreprocessorTest, FastPathMatchesReferenceOnRealPhotos) {
  int found = 0;
  for (const std::string& path : RealPhotoPaths()) {
    const std::string jpeg = ReadFileOrEmpty(path);
    if (jpeg.empty()) continue;
    ++found;
    // Real photos have fine texture that DCT scaling smooths more than a
    // point-sampling bilinear resize does (retina.jpg at 1/8: ~1.1 levels).
    ExpectFastMatchesReference(jpeg, path.c_str(), 1.5);
  }
  if (found == 0)
    GTEST_SKIP() << "python3-sklearn / python3-skimage not installed";
}

TEST(ImagePreprocessorTest, WithoutScalingFastPathEqualsReference) {
  PreprocessOptions opts;
  opts.out_size = 160;
  opts.max_scale_denom = 1;
  ImagePreprocessor fast(opts), ref(opts);
  const std::string jpeg = EncodeRgb(700, 500);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::vector<uint8_t> a(160 * 160 * 3), b(a.size());
    ASSERT_TRUE(fast.Process(jpeg, seed, a.data()).ok());
    ASSERT_TRUE(ref.ProcessReference(jpeg, seed, b.data()).ok());
    EXPECT_LT(MeanAbsDiff(a, b), 0.05) << seed;
  }
}

TEST(ImagePreprocessorTest, CenterCropAndFlip) {
  // Left half red, right half blue: the eval center crop of a wide image
  // keeps both, split down the middle; a flipped training crop mirrors.
  const int w = 800, h = 400;
  std::vector<uint8_t> rgb(w * h * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[(y * w + x) * 3];
      p[0] = x < w / 2 ? 220 : 10;
      p[1] = 10;
      p[2] = x < w / 2 ? 10 : 220;
    }
  }
  const std::string jpeg = EncodeJpeg(rgb, w, h, TJPF_RGB, TJSAMP_444, 95);
  PreprocessOptions opts;
  opts.out_size = 64;
  opts.augment = false;
  ImagePreprocessor eval(opts);
  std::vector<uint8_t> out(64 * 64 * 3);
  ASSERT_TRUE(eval.Process(jpeg, 123, out.data()).ok());
  auto px = [&](int x, int y, int c) { return out[(y * 64 + x) * 3 + c]; };
  EXPECT_GT(px(5, 32, 0), 180);
  EXPECT_LT(px(5, 32, 2), 50);
  EXPECT_GT(px(58, 32, 2), 180);
  EXPECT_LT(px(58, 32, 0), 50);

  ImagePreprocessor train(PreprocessOptions{64, true, 8});
  std::vector<uint8_t> a(out.size()), b(out.size());
  const CropWindow win{300, 50, 200, 200};
  ASSERT_TRUE(train
                  .DecodeAndCrop(
                      jpeg,
                      [&](int, int) {
                        return CropPlan{win, false};
                      },
                      a.data())
                  .ok());
  ASSERT_TRUE(train
                  .DecodeAndCrop(
                      jpeg,
                      [&](int, int) {
                        return CropPlan{win, true};
                      },
                      b.data())
                  .ok());
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      for (int c = 0; c < 3; ++c) {
        ASSERT_EQ(a[(y * 64 + x) * 3 + c], b[(y * 64 + 63 - x) * 3 + c]);
      }
    }
  }
  EXPECT_GT(a[(32 * 64 + 2) * 3 + 0], 180);  // Left edge red, unflipped.
  EXPECT_GT(b[(32 * 64 + 2) * 3 + 2], 180);  // Left edge blue, flipped.
}

TEST(ImagePreprocessorTest, SameSeedSameOutputOtherSeedOtherCrop) {
  const std::string jpeg = EncodeRgb(500, 400);
  ImagePreprocessor p(PreprocessOptions{96, true, 8});
  std::vector<uint8_t> a(96 * 96 * 3), b(a.size()), c(a.size());
  ASSERT_TRUE(p.Process(jpeg, 5, a.data()).ok());
  ASSERT_TRUE(p.Process(jpeg, 5, b.data()).ok());
  ASSERT_TRUE(p.Process(jpeg, 6, c.data()).ok());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(ImagePreprocessorTest, GrayscaleInputBecomesRgb) {
  const int w = 300, h = 200;
  std::vector<uint8_t> gray(w * h);
  for (int i = 0; i < w * h; ++i)
    gray[i] = static_cast<uint8_t>((i % w) * 255 / w);
  const std::string jpeg = EncodeJpeg(gray, w, h, TJPF_GRAY, TJSAMP_GRAY, 95);
  ImagePreprocessor p(PreprocessOptions{64, true, 8});
  for (uint64_t seed = 0; seed < 5; ++seed) {
    std::vector<uint8_t> a(64 * 64 * 3), b(a.size());
    ASSERT_TRUE(p.Process(jpeg, seed, a.data()).ok());
    ASSERT_TRUE(p.ProcessReference(jpeg, seed, b.data()).ok());
    for (size_t i = 0; i < a.size(); i += 3) {
      ASSERT_EQ(a[i], a[i + 1]);
      ASSERT_EQ(a[i], a[i + 2]);
    }
    EXPECT_LT(MeanAbsDiff(a, b), 2.5);
  }
}

TEST(ImagePreprocessorTest, CmykInputBecomesRgb) {
  const int w = 256, h = 192;
  const std::vector<uint8_t> rgb = TestImage(w, h);
  // libjpeg-turbo's (inverted, Adobe-style) convention: K = max(R,G,B),
  // C = R*255/K and so on, so that R = C*K/255.
  std::vector<uint8_t> cmyk(w * h * 4);
  for (int i = 0; i < w * h; ++i) {
    const int r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
    const int k = std::max(1, std::max(r, std::max(g, b)));
    cmyk[4 * i + 0] = static_cast<uint8_t>(r * 255 / k);
    cmyk[4 * i + 1] = static_cast<uint8_t>(g * 255 / k);
    cmyk[4 * i + 2] = static_cast<uint8_t>(b * 255 / k);
    cmyk[4 * i + 3] = static_cast<uint8_t>(k);
  }
  const std::string jpeg = EncodeJpeg(cmyk, w, h, TJPF_CMYK, TJSAMP_444, 98);
  ASSERT_FALSE(jpeg.empty());
  JpegDecoder dec;
  DecodedImage region, full;
  absl::StatusOr<JpegHeader> hdr = dec.DecodeRegion(
      jpeg,
      [&](const JpegHeader&) {
        return Req({0, 0, w, h}, 1);
      },
      &region);
  ASSERT_TRUE(hdr.ok()) << hdr.status();
  EXPECT_TRUE(hdr->cmyk);
  ASSERT_TRUE(dec.DecodeFull(jpeg, 1, &full).ok());
  ASSERT_EQ(region.pixels.size(), rgb.size());
  EXPECT_LT(MeanAbsDiff(region.pixels, rgb), 3.0);
  EXPECT_LT(MeanAbsDiff(full.pixels, rgb), 3.0);
}

// After a corrupt image the same preprocessor still decodes a valid one
// exactly as a fresh one does (libjpeg/TurboJPEG state must be renewed).
void ExpectErrorThenRecovery(const std::string& bad, const char* what) {
  const std::string good = EncodeRgb(320, 240);
  ImagePreprocessor used(PreprocessOptions{64, false, 8});
  ImagePreprocessor fresh(PreprocessOptions{64, false, 8});
  std::vector<uint8_t> a(64 * 64 * 3), b(a.size());
  absl::Status s = used.Process(bad, 0, a.data());
  EXPECT_FALSE(s.ok()) << what;
  EXPECT_FALSE(used.ProcessReference(bad, 0, a.data()).ok()) << what;
  ASSERT_TRUE(used.Process(good, 0, a.data()).ok()) << what;
  ASSERT_TRUE(fresh.Process(good, 0, b.data()).ok());
  EXPECT_EQ(a, b) << what;
  ASSERT_TRUE(used.ProcessReference(good, 0, a.data()).ok()) << what;
}

TEST(ImagePreprocessorTest, CorruptJpegsFailAndTheDecoderRecovers) {
  const std::string skimage_truncated =
      ReadFileOrEmpty(testing::DebianPhotoPath("truncated"));
  if (!skimage_truncated.empty()) {
    ExpectErrorThenRecovery(skimage_truncated, "skimage truncated.jpg");
  }
  const std::string good = EncodeRgb(400, 300);
  ExpectErrorThenRecovery(good.substr(0, good.size() * 6 / 10), "cut at 60%");
  ExpectErrorThenRecovery(good.substr(0, 300), "cut in the headers");
  ExpectErrorThenRecovery("", "empty");
  ExpectErrorThenRecovery(std::string(1000, '\x42'), "not a JPEG");
  std::string bogus_table = good;
  const size_t dht = bogus_table.find("\xff\xc4");
  ASSERT_NE(dht, std::string::npos);
  for (size_t i = dht + 5; i < dht + 21; ++i) bogus_table[i] = '\xff';
  ExpectErrorThenRecovery(bogus_table, "bogus Huffman table");
}

// Damaged entropy data only draws libjpeg warnings: like TensorFlow, the
// image decodes (with visible damage) rather than being dropped. Only a
// premature end of data is treated as an error.
TEST(ImagePreprocessorTest, DamagedEntropyDataDecodesWithoutCrashing) {
  std::string garbled = EncodeRgb(400, 300);
  for (size_t i = 700; i < garbled.size() - 2; i += 97) garbled[i] = '\xff';
  ImagePreprocessor p(PreprocessOptions{64, false, 8});
  std::vector<uint8_t> out(64 * 64 * 3);
  EXPECT_TRUE(p.Process(garbled, 0, out.data()).ok());
  EXPECT_TRUE(p.ProcessReference(garbled, 0, out.data()).ok());
}

TEST(ImagePreprocessorTest, HugeDimensionsAreRejectedBeforeDecoding) {
  std::string jpeg = EncodeRgb(64, 48);
  // Patch the SOF0 frame header: FFC0, length(2), precision(1), H(2), W(2).
  const size_t sof = jpeg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  jpeg[sof + 5] = '\x4e';  // Height 20000.
  jpeg[sof + 6] = '\x20';
  ImagePreprocessor p(PreprocessOptions{64, true, 8});
  std::vector<uint8_t> out(64 * 64 * 3);
  absl::Status s = p.Process(jpeg, 0, out.data());
  EXPECT_THAT(s,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("20000")));
  EXPECT_TRUE(absl::IsInvalidArgument(p.ProcessReference(jpeg, 0, out.data())));
}

// jpeg_fuzz: a window whose x + width overflows int passed the bounds check
// (and was undefined behaviour). Every such window must be refused.
TEST(JpegDecoderTest, WindowsNearIntMaxAreRefused) {
  const std::string jpeg = EncodeRgb(64, 48);
  JpegDecoder dec;
  DecodedImage out;
  const CropWindow windows[] = {
      {827076903, 1, INT_MAX, 10},  // The fuzzer's input.
      {1, 1, INT_MAX, 10},
      {1, 1, 10, INT_MAX},
      {INT_MAX, INT_MAX, INT_MAX, INT_MAX},
  };
  for (const CropWindow& w : windows) {
    absl::StatusOr<JpegHeader> h = dec.DecodeRegion(
        jpeg, [&](const JpegHeader&) { return Req(w, 2); }, &out);
    EXPECT_TRUE(absl::IsInvalidArgument(h.status())) << h.status();
    EXPECT_THAT(std::string(h.status().message()),
                HasSubstr("outside the 64x48 image"))
        << h.status();
  }
  // The decoder is still usable afterwards.
  EXPECT_TRUE(dec.DecodeRegion(
                     jpeg, [&](const JpegHeader&) {
                       return Req({0, 0, 64, 48}, 1);
                     },
                     &out)
                  .ok());
}

}  // namespace
}  // namespace inputserve
