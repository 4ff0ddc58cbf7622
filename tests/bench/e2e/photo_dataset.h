// Builds the end-to-end benchmark's TFRecord dataset from real photographs:
// the JPEGs that ship in Debian packages, kept only when they decode fully,
// replicated to the requested number of records. Functions only; each call
// writes its own files under the given directory.
#ifndef INPUTSERVE_TESTS_BENCH_E2E_PHOTO_DATASET_H_
#define INPUTSERVE_TESTS_BENCH_E2E_PHOTO_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace inputserve::bench {

// Photographs of python3-sklearn and python3-skimage (truncated.jpg among
// them: it is dropped because it does not decode).
std::vector<std::string> DefaultPhotoPaths();

struct PhotoDataset {
  std::vector<std::string> files;    // TFRecord files written, in order.
  std::vector<std::string> used;     // Photos that decoded and went in.
  std::vector<std::string> dropped;  // "path: why" for the rest.
  uint64_t records = 0;
  double mean_mpix = 0;  // Mean over the records.
  uint64_t bytes = 0;    // JPEG bytes over the records.
};

// Writes `records` tf.train.Examples (image/encoded, image/class/label =
// record % 1000) cycling through the decodable photos, spread over
// `num_files` files photos-<i>.tfrecord in `dir`. FAILED_PRECONDITION when no
// photo decodes (the packages are not installed).
absl::StatusOr<PhotoDataset> WritePhotoDataset(
    const std::vector<std::string>& photos, const std::string& dir,
    uint64_t records, int num_files);

}  // namespace inputserve::bench

#endif  // INPUTSERVE_TESTS_BENCH_E2E_PHOTO_DATASET_H_
