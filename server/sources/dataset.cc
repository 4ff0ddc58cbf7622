#include "server/sources/dataset.h"

#include "absl/strings/str_cat.h"
#include "server/sources/cifar10.h"
#include "server/sources/imagefolder.h"
#include "server/sources/imagenet.h"
#include "server/sources/random_source.h"
#include "server/sources/shard_plan.h"
#include "server/sources/webdataset.h"

namespace inputserve {
namespace {

// Output sides an ImageNet-style model can use; beyond this a batch of one
// example would already be ~50 MB.
constexpr int kMinImageSize = 8;
constexpr int kMaxImageSize = 4096;

absl::Status CheckImageSize(int image_size) {
  if (image_size < kMinImageSize || image_size > kMaxImageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("image_size must be in [", kMinImageSize, ", ",
                     kMaxImageSize, "], got ", image_size));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RawExample> Dataset::ReadRecord(uint64_t index) const {
  return absl::UnimplementedError(
      absl::StrCat("this dataset kind keeps no record index (asked for record ",
                   index, ")"));
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenDataset(
    const DatasetOptions& options) {
  if (absl::Status s =
          CheckShardOptions(options.shard_index, options.num_shards);
      !s.ok()) {
    return s;
  }
  const absl::string_view spec = options.spec;
  const size_t colon = spec.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dataset spec '", spec,
        "' has no format; expected cifar10:<dir|glob>, imagenet:<glob>, "
        "imagefolder:<root>, webdataset:<glob>, synthetic:cifar10 or "
        "synthetic:imagenet"));
  }
  const absl::string_view format = spec.substr(0, colon);
  const absl::string_view rest = spec.substr(colon + 1);
  if (format == "synthetic") {
    if (rest == "imagenet") {
      if (absl::Status s = CheckImageSize(options.image_size); !s.ok()) {
        return s;
      }
    }
    return OpenRandomDataset(rest, options);
  }
  if (format != "cifar10" && format != "imagenet" && format != "imagefolder" &&
      format != "webdataset") {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown dataset format '", format,
        "'; expected cifar10, imagenet, imagefolder, webdataset or synthetic"));
  }
  if (rest.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dataset spec '", spec, "' has an empty path"));
  }
  if (format == "cifar10") return OpenCifar10Dataset(rest, options);
  if (absl::Status s = CheckImageSize(options.image_size); !s.ok()) return s;
  if (format == "imagefolder") return OpenImageFolderDataset(rest, options);
  if (format == "webdataset") return OpenWebDatasetDataset(rest, options);
  return OpenImagenetDataset(rest, options);
}

}  // namespace inputserve
