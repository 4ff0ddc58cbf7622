// Sample dataset writer behind inputserve-datagen: CIFAR-10 binary files and
// TFRecord files of JPEG tf.train.Examples, with learnable class-structured
// images. Deterministic for a seed: example i depends only on (seed, i).
// Functions are thread-compatible (they only write under options.out_dir).
#ifndef INPUTSERVE_SERVER_TOOLS_DATAGEN_H_
#define INPUTSERVE_SERVER_TOOLS_DATAGEN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace inputserve {

struct DatagenOptions {
  enum class Format { kCifar10, kTfrecord };
  Format format = Format::kCifar10;
  std::string out_dir;
  uint64_t num_examples = 0;
  uint64_t seed = 0;
  int num_files = 0;  // 0: 5 for CIFAR-10 (like the real set), 4 for TFRecord.
  // TFRecord only.
  int min_size = 300;  // Image sides are uniform in [min_size, max_size].
  int max_size = 800;
  double grayscale_fraction = 0.1;  // Share of single-channel JPEGs.
  int quality = 90;                 // JPEG quality, 1..100.
  int num_classes = 1000;           // Labels in [0, num_classes).
};

// INVALID_ARGUMENT naming the bad field and its allowed range.
absl::Status CheckDatagenOptions(const DatagenOptions& options);

// Writes the dataset and returns the paths written, in order. Creates
// out_dir if needed.
absl::StatusOr<std::vector<std::string>> WriteDataset(
    const DatagenOptions& options);

// Per-format writers (called by WriteDataset after the checks).
absl::StatusOr<std::vector<std::string>> WriteCifar10Files(
    const DatagenOptions& options);
absl::StatusOr<std::vector<std::string>> WriteTfrecordFiles(
    const DatagenOptions& options);

// Label of example `index`: uniform in [0, num_classes) from (seed, index).
int DatagenLabel(uint64_t seed, uint64_t index, int num_classes);

// Examples [begin, end) that file `file` of `num_files` holds.
void DatagenFileRange(uint64_t num_examples, int num_files, int file,
                      uint64_t* begin, uint64_t* end);

// Writes `data` to `path` (replacing it); FAILED_PRECONDITION naming it.
absl::Status WriteWholeFile(const std::string& path, const std::string& data);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TOOLS_DATAGEN_H_
