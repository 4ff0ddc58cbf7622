// Encoded sample images (JPEG through TurboJPEG, PNG through libpng) and the
// two formats that store them as files: ImageFolder trees and WebDataset
// tar shards.
#include <turbojpeg.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/codec/rng.h"
#include "server/tools/datagen.h"
#include "server/tools/encoders.h"
#include "server/tools/image_painter.h"

namespace inputserve {
namespace {

constexpr int kDefaultWebDatasetShards = 4;
// Separates the PNG coin from the painting stream of the same index.
constexpr uint64_t kPngSalt = 0x706e67ULL;

absl::StatusOr<std::string> EncodeJpeg(void* tj,
                                       const std::vector<uint8_t>& rgb,
                                       int width, int height, bool gray,
                                       int quality) {
  std::vector<uint8_t> luma;
  const uint8_t* src = rgb.data();
  int pf = TJPF_RGB, subsamp = TJSAMP_420;
  if (gray) {
    luma.resize(static_cast<size_t>(width) * height);
    for (size_t i = 0; i < luma.size(); ++i) {
      luma[i] = static_cast<uint8_t>(
          (rgb[3 * i] * 77 + rgb[3 * i + 1] * 150 + rgb[3 * i + 2] * 29) >> 8);
    }
    src = luma.data();
    pf = TJPF_GRAY;
    subsamp = TJSAMP_GRAY;
  }
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj, src, width, 0, height, pf, &jpeg, &size, subsamp, quality,
                  0) != 0) {
    return absl::InternalError(
        absl::StrCat("JPEG compression failed: ", tjGetErrorStr2(tj)));
  }
  std::string out(reinterpret_cast<const char*>(jpeg), size);
  tjFree(jpeg);
  return out;
}

std::string FileName(uint64_t index, const SampleImage& image) {
  return absl::StrFormat("%08d.%s", index, image.png ? "png" : "jpg");
}

}  // namespace

void SampleImageMaker::TjDeleter::operator()(void* h) const { tjDestroy(h); }

absl::StatusOr<SampleImageMaker> SampleImageMaker::Create(
    const DatagenOptions& options) {
  void* tj = tjInitCompress();
  if (tj == nullptr) {
    return absl::InternalError(
        absl::StrCat("tjInitCompress failed: ", tjGetErrorStr2(nullptr)));
  }
  return SampleImageMaker(options, tj);
}

absl::StatusOr<SampleImage> SampleImageMaker::Make(uint64_t index,
                                                   bool allow_png) {
  SampleImage out;
  out.label = DatagenLabel(options_.seed, index, options_.num_classes);
  Rng rng(MixSeed(options_.seed, index));
  const int span = options_.max_size - options_.min_size + 1;
  out.width = options_.min_size + static_cast<int>(rng.Below(span));
  out.height = options_.min_size + static_cast<int>(rng.Below(span));
  out.gray = rng.Uniform() < options_.grayscale_fraction;
  rgb_.resize(static_cast<size_t>(out.width) * out.height * 3);
  PaintClassImage(out.label, out.width, out.height, rng, rgb_.data());
  Rng png_rng(MixSeed(options_.seed ^ kPngSalt, index));
  out.png = allow_png && png_rng.Uniform() < options_.png_fraction;
  absl::StatusOr<std::string> bytes =
      out.png ? EncodePng(rgb_.data(), out.width, out.height,
                          out.gray ? PngLayout::kGray8 : PngLayout::kRgb8)
              : EncodeJpeg(tj_.get(), rgb_, out.width, out.height, out.gray,
                           options_.quality);
  if (!bytes.ok()) return bytes.status();
  out.bytes = *std::move(bytes);
  return out;
}

absl::StatusOr<std::vector<std::string>> WriteImageFolder(
    const DatagenOptions& options) {
  absl::StatusOr<SampleImageMaker> maker = SampleImageMaker::Create(options);
  if (!maker.ok()) return maker.status();
  std::vector<std::string> class_dirs;
  for (int c = 0; c < options.num_classes; ++c) {
    class_dirs.push_back(absl::StrFormat("%s/class_%04d", options.out_dir, c));
    if (absl::Status s = MakeDirs(class_dirs.back()); !s.ok()) return s;
  }
  std::vector<std::string> written;
  for (uint64_t i = 0; i < options.num_examples; ++i) {
    absl::StatusOr<SampleImage> image = maker->Make(i, /*allow_png=*/true);
    if (!image.ok()) return image.status();
    const std::string path =
        absl::StrCat(class_dirs[image->label], "/", FileName(i, *image));
    if (absl::Status s = WriteWholeFile(path, image->bytes); !s.ok()) return s;
    written.push_back(path);
  }
  return written;
}

absl::StatusOr<std::vector<std::string>> WriteWebDatasetShards(
    const DatagenOptions& options) {
  absl::StatusOr<SampleImageMaker> maker = SampleImageMaker::Create(options);
  if (!maker.ok()) return maker.status();
  std::string end_blocks;
  AppendTarEnd(&end_blocks);
  return WriteSplitFiles(
      options, kDefaultWebDatasetShards,
      [&](int f, int) {
        return absl::StrFormat("%s/shard-%06d.tar", options.out_dir, f);
      },
      [&](uint64_t i, std::string* tar) -> absl::Status {
        absl::StatusOr<SampleImage> image = maker->Make(i, /*allow_png=*/true);
        if (!image.ok()) return image.status();
        AppendTarMember(FileName(i, *image), image->bytes, tar);
        AppendTarMember(absl::StrFormat("%08d.cls", i),
                        absl::StrCat(image->label), tar);
        return absl::OkStatus();
      },
      end_blocks);
}

}  // namespace inputserve
