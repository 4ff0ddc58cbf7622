// CIFAR-10 binary datasets: files of 3073-byte records (1 label byte, then a
// 32x32 image stored channel-major). The reader hands out the 3072 image
// bytes with the label; the decoder converts to HWC and, for training,
// applies the Keras CIFAR ResNet pad-crop-flip. Readers are single-threaded;
// decoders are per thread.
#ifndef INPUTSERVE_SERVER_SOURCES_CIFAR10_H_
#define INPUTSERVE_SERVER_SOURCES_CIFAR10_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/sources/dataset.h"

namespace inputserve {

constexpr size_t kCifarRecordBytes = 3073;
constexpr int kCifarClasses = 10;

// `path` is a directory (its data_batch_*.bin, else test_batch.bin, else
// *.bin files) or a glob. Checks every file's size at open time.
absl::StatusOr<std::unique_ptr<Dataset>> OpenCifar10Dataset(
    absl::string_view path, const DatasetOptions& options);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_CIFAR10_H_
