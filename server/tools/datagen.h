// Sample dataset writer behind inputserve-datagen: CIFAR-10 binary files,
// TFRecord files of JPEG tf.train.Examples, ImageFolder trees and WebDataset
// tar shards, with learnable class-structured images. Deterministic for a seed:
// example i depends only on (seed, i). Functions are thread-compatible (they
// only write under options.out_dir).
#ifndef INPUTSERVE_SERVER_TOOLS_DATAGEN_H_
#define INPUTSERVE_SERVER_TOOLS_DATAGEN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inputserve {

struct DatagenOptions {
  enum class Format { kCifar10, kTfrecord, kImageFolder, kWebDataset };
  Format format = Format::kCifar10;
  std::string out_dir;
  uint64_t num_examples = 0;
  uint64_t seed = 0;
  int num_files = 0;  // 0: 5 for CIFAR-10 (like the real set), 4 for TFRecord.
  // TFRecord, ImageFolder and WebDataset (encoded images).
  int min_size = 300;  // Image sides are uniform in [min_size, max_size].
  int max_size = 800;
  double grayscale_fraction = 0.1;  // Share of single-channel JPEGs.
  int quality = 90;                 // JPEG quality, 1..100.
  int num_classes = 1000;           // Labels in [0, num_classes).
  double png_fraction = 0.0;  // ImageFolder/WebDataset: share written as PNG.
};

// One generated, encoded sample image.
struct SampleImage {
  std::string bytes;  // JPEG or PNG.
  bool png = false;
  bool gray = false;
  int label = 0;
  int width = 0;
  int height = 0;
};

// Paints and encodes example i (a pure function of options.seed and i).
// Holds a TurboJPEG compressor: one per thread.
class SampleImageMaker {
 public:
  static absl::StatusOr<SampleImageMaker> Create(const DatagenOptions& options);
  // allow_png: honour options.png_fraction (TFRecords hold JPEGs only).
  absl::StatusOr<SampleImage> Make(uint64_t index, bool allow_png);

 private:
  struct TjDeleter {
    void operator()(void* h) const;
  };
  SampleImageMaker(const DatagenOptions& options, void* tj)
      : options_(options), tj_(tj) {}

  DatagenOptions options_;
  std::unique_ptr<void, TjDeleter> tj_;
  std::vector<uint8_t> rgb_;
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
// <out>/class_<label, 4 digits>/<index, 8 digits>.jpg|png; every class
// directory exists even when it received no image.
absl::StatusOr<std::vector<std::string>> WriteImageFolder(
    const DatagenOptions& options);
// <out>/shard-<n, 6 digits>.tar holding <index>.jpg|png + <index>.cls.
absl::StatusOr<std::vector<std::string>> WriteWebDatasetShards(
    const DatagenOptions& options);

// Label of example `index`: uniform in [0, num_classes) from (seed, index).
int DatagenLabel(uint64_t seed, uint64_t index, int num_classes);

// Examples [begin, end) that file `file` of `num_files` holds.
void DatagenFileRange(uint64_t num_examples, int num_files, int file,
                      uint64_t* begin, uint64_t* end);

// Creates `dir` and its parents; FAILED_PRECONDITION naming what failed.
absl::Status MakeDirs(const std::string& dir);

// Splits the examples over min(num_files or default_files, num_examples)
// files: for file f of n, append(i, &data) adds each of its examples, then
// the data (plus `trailer`) is written to path(f, n). Returns the paths.
absl::StatusOr<std::vector<std::string>> WriteSplitFiles(
    const DatagenOptions& options, int default_files,
    absl::FunctionRef<std::string(int file, int num_files)> path,
    absl::FunctionRef<absl::Status(uint64_t index, std::string* data)> append,
    absl::string_view trailer = "");

// Writes `data` to `path` (replacing it); FAILED_PRECONDITION naming it.
absl::Status WriteWholeFile(const std::string& path, const std::string& data);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TOOLS_DATAGEN_H_
