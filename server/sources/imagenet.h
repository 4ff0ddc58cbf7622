// ImageNet-style datasets: TFRecord files of tf.train.Example with a JPEG in
// image/encoded and an int64 image/class/label. The reader checks framing and
// CRCs and parses the Example (cheap, one thread); decoders (one per worker)
// run the JPEG decode + random-resized-crop + flip, or the evaluation crop.
#ifndef INPUTSERVE_SERVER_SOURCES_IMAGENET_H_
#define INPUTSERVE_SERVER_SOURCES_IMAGENET_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/sources/dataset.h"

namespace inputserve {

// Labels are used as written and must lie in [0, kImagenetClasses): 1001
// leaves room for the 1..1000 labels (0 = background) of TensorFlow's
// build_imagenet_data.py as well as 0-based labels.
constexpr int kImagenetClasses = 1001;

// `pattern` is a glob of TFRecord files. Counts every file's records from
// the length headers at open time.
absl::StatusOr<std::unique_ptr<Dataset>> OpenImagenetDataset(
    absl::string_view pattern, const DatasetOptions& options);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_IMAGENET_H_
