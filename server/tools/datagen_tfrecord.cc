// TFRecord writer: train-<n>-of-<m> files of tf.train.Example records holding
// a JPEG (image/encoded), its label (image/class/label) and the metadata
// fields TensorFlow's build_imagenet_data.py writes.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sources/example_proto.h"
#include "server/sources/tfrecord.h"
#include "server/tools/datagen.h"

namespace inputserve {
namespace {

constexpr int kDefaultTfrecordFiles = 4;

}  // namespace

absl::StatusOr<std::vector<std::string>> WriteTfrecordFiles(
    const DatagenOptions& options) {
  absl::StatusOr<SampleImageMaker> maker = SampleImageMaker::Create(options);
  if (!maker.ok()) return maker.status();
  return WriteSplitFiles(
      options, kDefaultTfrecordFiles,
      [&](int f, int n) {
        return absl::StrFormat("%s/train-%05d-of-%05d", options.out_dir, f, n);
      },
      [&](uint64_t i, std::string* data) -> absl::Status {
        absl::StatusOr<SampleImage> image = maker->Make(i, /*allow_png=*/false);
        if (!image.ok()) return image.status();
        const bool gray = image->gray;
        ExampleFeatures features;
        features.bytes = {
            {"image/encoded", std::move(image->bytes)},
            {"image/format", "JPEG"},
            {"image/colorspace", gray ? "Grayscale" : "RGB"},
            {"image/filename", absl::StrFormat("synthetic_%08d.JPEG", i)}};
        features.int64s = {{"image/class/label", image->label},
                           {"image/height", image->height},
                           {"image/width", image->width},
                           {"image/channels", gray ? 1 : 3}};
        AppendTfrecord(EncodeExample(features), data);
        return absl::OkStatus();
      });
}

}  // namespace inputserve
