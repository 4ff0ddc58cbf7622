// PNG decoding: every layout libpng can store comes back as 8-bit RGB (the
// encoder's input is the oracle), real PNGs from Debian's skimage decode,
// corrupt and hostile files fail with an error, and PNGs take the same
// crop/resize/flip path as JPEGs.
#include "server/codec/png_decoder.h"

#include <cstring>
#include <string>
#include <vector>

#include "codec_test_util.h"
#include "gtest/gtest.h"
#include "server/codec/image_preprocessor.h"
#include "server/codec/jpeg_decoder.h"
#include "server/tools/encoders.h"

namespace inputserve {
namespace {

using ::inputserve::testing::ReadFileOrEmpty;
using ::inputserve::testing::RealPhotoPaths;

constexpr char kSkimage[] = "/usr/lib/python3/dist-packages/skimage/data/";

// A real photo (china.jpg), decoded, as the source of test PNGs.
struct Photo {
  std::vector<uint8_t> rgb;
  int width = 0;
  int height = 0;
};

Photo LoadPhoto() {
  Photo p;
  const std::string jpeg = ReadFileOrEmpty(RealPhotoPaths()[0]);
  if (jpeg.empty()) {
    p.width = 97, p.height = 61;
    p.rgb = testing::TestImage(p.width, p.height);
    return p;
  }
  JpegDecoder decoder;
  DecodedImage img;
  absl::StatusOr<JpegHeader> h = decoder.DecodeFull(jpeg, 1, &img);
  EXPECT_TRUE(h.ok()) << h.status();
  p.rgb = img.pixels;
  p.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
  p.width = img.width;
  p.height = img.height;
  return p;
}

uint8_t Luma(const uint8_t* p) {
  return static_cast<uint8_t>((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
}

std::vector<uint8_t> Decode(const std::string& png, int* w, int* h) {
  PngDecoder decoder;
  DecodedImage img;
  absl::Status s = decoder.Decode(png, &img);
  EXPECT_TRUE(s.ok()) << s;
  *w = img.width;
  *h = img.height;
  img.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
  return img.pixels;
}

TEST(PngDecoderTest, EveryLayoutBecomesRgb8) {
  const Photo photo = LoadPhoto();
  const size_t n = static_cast<size_t>(photo.width) * photo.height;
  std::vector<uint8_t> gray_rgb(n * 3), palette_rgb(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &photo.rgb[3 * i];
    const uint8_t l = Luma(p);
    gray_rgb[3 * i] = gray_rgb[3 * i + 1] = gray_rgb[3 * i + 2] = l;
    palette_rgb[3 * i] = static_cast<uint8_t>((p[0] >> 5) * 255 / 7);
    palette_rgb[3 * i + 1] = static_cast<uint8_t>((p[1] >> 5) * 255 / 7);
    palette_rgb[3 * i + 2] = static_cast<uint8_t>((p[2] >> 6) * 255 / 3);
  }
  const struct {
    PngLayout layout;
    const std::vector<uint8_t>* want;
    const char* name;
  } cases[] = {
      {PngLayout::kRgb8, &photo.rgb, "rgb8"},
      {PngLayout::kRgba8, &photo.rgb, "rgba8 (alpha dropped)"},
      {PngLayout::kRgb16, &photo.rgb, "rgb16 (high byte kept)"},
      {PngLayout::kGray8, &gray_rgb, "gray8 (replicated)"},
      {PngLayout::kGrayAlpha16, &gray_rgb, "gray+alpha 16"},
      {PngLayout::kPalette8, &palette_rgb, "palette"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::string> png =
        EncodePng(photo.rgb.data(), photo.width, photo.height, c.layout);
    ASSERT_TRUE(png.ok()) << png.status();
    ASSERT_TRUE(LooksLikePng(*png));
    int w = 0, h = 0;
    const std::vector<uint8_t> got = Decode(*png, &w, &h);
    EXPECT_EQ(w, photo.width);
    EXPECT_EQ(h, photo.height);
    EXPECT_TRUE(got == *c.want);
  }
}

TEST(PngDecoderTest, RealSkimagePngs) {
  // (file, width, height, gray): RGB, grayscale, 1-bit, palette, RGBA.
  const struct {
    const char* file;
    int width, height;
    bool gray;
  } cases[] = {{"astronaut.png", 512, 512, false},
               {"camera.png", 512, 512, true},
               {"checker_bilevel.png", 10, 10, true},
               {"green_palette.png", 320, 240, false},
               {"foo3x5x4indexed.png", 5, 3, false},
               {"horse.png", 400, 328, false},
               {"logo.png", 500, 500, false}};
  int found = 0;
  for (const auto& c : cases) {
    const std::string png = ReadFileOrEmpty(std::string(kSkimage) + c.file);
    if (png.empty()) continue;
    ++found;
    SCOPED_TRACE(c.file);
    int w = 0, h = 0;
    const std::vector<uint8_t> rgb = Decode(png, &w, &h);
    EXPECT_EQ(w, c.width);
    EXPECT_EQ(h, c.height);
    if (c.gray) {
      bool all_gray = true;
      for (size_t i = 0; i + 2 < rgb.size(); i += 3) {
        all_gray &= rgb[i] == rgb[i + 1] && rgb[i] == rgb[i + 2];
      }
      EXPECT_TRUE(all_gray);
    }
  }
  if (found == 0) GTEST_SKIP() << "python3-skimage is not installed";
}

TEST(PngDecoderTest, CorruptAndHostileInputFails) {
  const Photo photo = LoadPhoto();
  absl::StatusOr<std::string> png =
      EncodePng(photo.rgb.data(), photo.width, photo.height, PngLayout::kRgb8);
  ASSERT_TRUE(png.ok());
  PngDecoder decoder;
  DecodedImage img;
  // Truncated at several points, including inside the signature.
  for (size_t keep :
       {size_t{4}, size_t{8}, size_t{40}, png->size() / 2, png->size() - 13}) {
    absl::Status s = decoder.Decode(png->substr(0, keep), &img);
    EXPECT_FALSE(s.ok()) << "kept " << keep;
  }
  // A flipped byte in the image data fails its CRC.
  std::string bad = *png;
  bad[bad.size() / 2] ^= 0x55;
  EXPECT_FALSE(decoder.Decode(bad, &img).ok());
  // A header claiming 100000 x 100000 pixels is refused before allocating.
  std::string huge = *png;
  const unsigned char side[4] = {0x00, 0x01, 0x86, 0xa0};
  std::memcpy(&huge[16], side, 4);
  std::memcpy(&huge[20], side, 4);
  absl::Status s = decoder.Decode(huge, &img);
  EXPECT_FALSE(s.ok());
  // The decoder is still usable after errors.
  EXPECT_TRUE(decoder.Decode(*png, &img).ok());
  EXPECT_FALSE(decoder.Decode("not a png", &img).ok());
}

TEST(PngDecoderTest, PreprocessorCropsPngLikeTheSameJpegPixels) {
  // The same pixels as PNG and as a (lossless-ish, quality 100 4:4:4) JPEG
  // go through the same geometry: evaluation crops nearly agree, and with
  // augmentation the same seed picks the same window and flip.
  const Photo photo = LoadPhoto();
  absl::StatusOr<std::string> png =
      EncodePng(photo.rgb.data(), photo.width, photo.height, PngLayout::kRgb8);
  ASSERT_TRUE(png.ok());
  const std::string jpeg = testing::EncodeJpeg(
      photo.rgb, photo.width, photo.height, TJPF_RGB, TJSAMP_444, 100);
  for (bool augment : {false, true}) {
    PreprocessOptions o;
    o.out_size = 64;
    o.augment = augment;
    o.max_scale_denom = 1;
    ImagePreprocessor pre(o);
    std::vector<uint8_t> from_png(64 * 64 * 3), from_jpeg(64 * 64 * 3);
    ASSERT_TRUE(pre.Process(*png, 42, from_png.data()).ok());
    ASSERT_TRUE(pre.Process(jpeg, 42, from_jpeg.data()).ok());
    EXPECT_LT(testing::MeanAbsDiff(from_png, from_jpeg), 2.0)
        << "augment=" << augment;
    std::vector<uint8_t> reference(64 * 64 * 3);
    ASSERT_TRUE(pre.ProcessReference(*png, 42, reference.data()).ok());
    EXPECT_TRUE(reference == from_png);
  }
}

}  // namespace
}  // namespace inputserve
