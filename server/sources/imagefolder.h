// torchvision ImageFolder trees: root/<class>/**/<image>. Classes are the
// sorted names of root's immediate subdirectories (label = position in that
// order); images are the files ending in .jpg, .jpeg or .png (any case)
// below each class directory, symlinks followed, in torchvision's order
// (directories sorted by path, files sorted by name within each). Opening
// walks the tree once into an index of about 12 bytes plus the relative
// path per image, which gives random access to any image. Shards own images
// i % num_shards == shard_index; with file shuffling each epoch visits the
// shard's images in a fresh permutation. Readers are single-threaded.
#ifndef INPUTSERVE_SERVER_SOURCES_IMAGEFOLDER_H_
#define INPUTSERVE_SERVER_SOURCES_IMAGEFOLDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/sources/dataset.h"
#include "server/sources/file_dataset.h"

namespace inputserve {

// The walked tree. Image i is root + "/" + path(i) with label labels[i].
struct ImageFolderIndex {
  std::string root;
  std::vector<std::string> classes;
  std::string path_bytes;              // Relative paths, each NUL-ended.
  std::vector<uint64_t> path_offsets;  // Start of image i's path.
  std::vector<int32_t> labels;
  std::vector<IndexProblem> problems;  // Unreadable directories.

  size_t size() const { return labels.size(); }
  std::string FullPath(size_t i) const;
};

// Walks `root`. NOT_FOUND / FAILED_PRECONDITION naming the root when it is
// missing, not a directory or has no class directory.
absl::StatusOr<ImageFolderIndex> IndexImageFolder(const std::string& root);

absl::StatusOr<std::unique_ptr<Dataset>> OpenImageFolderDataset(
    absl::string_view root, const DatasetOptions& options);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_IMAGEFOLDER_H_
