// WebDataset tar shards: a sample is a run of consecutive members sharing a
// key (the member path up to the first dot of its basename); the image is
// the jpg|jpeg|png member, the label the cls member (an ASCII integer).
// Opening scans each shard's headers once (no extraction) into an index of
// 16 bytes per sample (image offset, image size, label), so the epoch size is
// exact and any sample can be read at random; readers then stream each shard
// front to back. Shards are the unit of sharding across replicas, as with
// TFRecord files. Readers are single-threaded; the index is immutable.
#ifndef INPUTSERVE_SERVER_SOURCES_WEBDATASET_H_
#define INPUTSERVE_SERVER_SOURCES_WEBDATASET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/sources/dataset.h"
#include "server/sources/file_dataset.h"

namespace inputserve {

// Labels must lie in [0, kMaxWebDatasetClasses); num_classes is the largest
// label seen plus one.
constexpr int kMaxWebDatasetClasses = 1'000'000;

// One indexed sample: 16 bytes.
struct WebDatasetSample {
  uint64_t image_offset = 0;
  uint32_t image_size = 0;
  int32_t label = 0;
};
static_assert(sizeof(WebDatasetSample) == 16, "index entry grew");

struct WebDatasetShard {
  std::vector<WebDatasetSample> samples;
  std::vector<IndexProblem> problems;  // Incomplete samples, damaged tail.
  int max_label = -1;
};

// Scans one tar shard. A non-OK status only for I/O errors; damage inside
// the archive becomes problems (the samples before it stay usable).
absl::StatusOr<WebDatasetShard> ScanWebDatasetShard(const std::string& path);

// `pattern` is a glob of tar files, or a directory (its *.tar files).
absl::StatusOr<std::unique_ptr<Dataset>> OpenWebDatasetDataset(
    absl::string_view pattern, const DatasetOptions& options);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_WEBDATASET_H_
