// CIFAR-10 writer: data_batch_<n>.bin files of 3073-byte records.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/codec/rng.h"
#include "server/tools/datagen.h"
#include "server/tools/image_painter.h"

namespace inputserve {
namespace {

constexpr int kSide = 32;
constexpr int kPlane = kSide * kSide;
constexpr int kDefaultCifarFiles = 5;
constexpr int kClasses = 10;

}  // namespace

absl::StatusOr<std::vector<std::string>> WriteCifar10Files(
    const DatagenOptions& options) {
  std::vector<uint8_t> hwc(kPlane * 3);
  return WriteSplitFiles(
      options, kDefaultCifarFiles,
      [&](int f, int) {
        return absl::StrCat(options.out_dir, "/data_batch_", f + 1, ".bin");
      },
      [&](uint64_t i, std::string* data) {
        const int label = DatagenLabel(options.seed, i, kClasses);
        Rng rng(MixSeed(options.seed, i));
        PaintClassImage(label, kSide, kSide, rng, hwc.data());
        data->push_back(static_cast<char>(label));
        // CIFAR stores channel-major: the R plane, then G, then B.
        for (int c = 0; c < 3; ++c) {
          for (int p = 0; p < kPlane; ++p) {
            data->push_back(static_cast<char>(hwc[3 * p + c]));
          }
        }
        return absl::OkStatus();
      });
}

}  // namespace inputserve
