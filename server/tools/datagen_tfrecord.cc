// TFRecord writer: train-<n>-of-<m> files of tf.train.Example records holding
// a JPEG (image/encoded), its label (image/class/label) and the metadata
// fields TensorFlow's build_imagenet_data.py writes.
#include <turbojpeg.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "server/codec/rng.h"
#include "server/sources/example_proto.h"
#include "server/sources/tfrecord.h"
#include "server/tools/datagen.h"
#include "server/tools/image_painter.h"

namespace inputserve {
namespace {

constexpr int kDefaultTfrecordFiles = 4;

struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};

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

}  // namespace

absl::StatusOr<std::vector<std::string>> WriteTfrecordFiles(
    const DatagenOptions& options) {
  std::unique_ptr<void, TjDeleter> tj(tjInitCompress());
  if (tj == nullptr) {
    return absl::InternalError(
        absl::StrCat("tjInitCompress failed: ", tjGetErrorStr2(nullptr)));
  }
  int num_files =
      options.num_files > 0 ? options.num_files : kDefaultTfrecordFiles;
  num_files =
      static_cast<int>(std::min<uint64_t>(num_files, options.num_examples));
  std::vector<std::string> written;
  std::vector<uint8_t> rgb;
  for (int f = 0; f < num_files; ++f) {
    uint64_t begin, end;
    DatagenFileRange(options.num_examples, num_files, f, &begin, &end);
    std::string data;
    for (uint64_t i = begin; i < end; ++i) {
      const int label = DatagenLabel(options.seed, i, options.num_classes);
      Rng rng(MixSeed(options.seed, i));
      const int span = options.max_size - options.min_size + 1;
      const int width = options.min_size + static_cast<int>(rng.Below(span));
      const int height = options.min_size + static_cast<int>(rng.Below(span));
      const bool gray = rng.Uniform() < options.grayscale_fraction;
      rgb.resize(static_cast<size_t>(width) * height * 3);
      PaintClassImage(label, width, height, rng, rgb.data());
      INPUTSERVE_ASSIGN_OR_RETURN(
          std::string jpeg,
          EncodeJpeg(tj.get(), rgb, width, height, gray, options.quality));
      ExampleFeatures features;
      features.bytes = {
          {"image/encoded", std::move(jpeg)},
          {"image/format", "JPEG"},
          {"image/colorspace", gray ? "Grayscale" : "RGB"},
          {"image/filename", absl::StrFormat("synthetic_%08d.JPEG", i)}};
      features.int64s = {{"image/class/label", label},
                         {"image/height", height},
                         {"image/width", width},
                         {"image/channels", gray ? 1 : 3}};
      AppendTfrecord(EncodeExample(features), &data);
    }
    const std::string path =
        absl::StrFormat("%s/train-%05d-of-%05d", options.out_dir, f, num_files);
    INPUTSERVE_RETURN_IF_ERROR(WriteWholeFile(path, data));
    written.push_back(path);
  }
  return written;
}

}  // namespace inputserve
