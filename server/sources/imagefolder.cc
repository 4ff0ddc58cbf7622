#include "server/sources/imagefolder.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/codec/rng.h"
#include "server/sources/file_list.h"
#include "server/sources/shard_plan.h"

namespace inputserve {
namespace {

bool HasImageExtension(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  return absl::EndsWith(lower, ".jpg") || absl::EndsWith(lower, ".jpeg") ||
         absl::EndsWith(lower, ".png");
}

struct DirEntries {
  std::vector<std::string> dirs;   // Names of subdirectories (links followed).
  std::vector<std::string> files;  // Everything else, broken links included.
};

// Lists `dir` like os.walk does: stat() follows links; an entry that cannot
// be stat'ed (a broken link) counts as a file.
absl::StatusOr<DirEntries> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open directory '", dir, "': ", std::strerror(errno)));
  }
  DirEntries out;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir =
          ::stat((dir + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    (is_dir ? out.dirs : out.files).push_back(name);
  }
  ::closedir(d);
  return out;
}

class Walker {
 public:
  explicit Walker(ImageFolderIndex* index) : index_(index) {}

  // Adds every image below root/<class_name> with `label`.
  void AddClass(const std::string& class_name, int32_t label) {
    // (relative dir, its image names), sorted by directory path as
    // torchvision's sorted(os.walk(...)) does.
    std::vector<std::pair<std::string, std::vector<std::string>>> dirs;
    std::set<std::pair<dev_t, ino_t>> ancestors;
    Walk(class_name, &ancestors, &dirs);
    std::sort(dirs.begin(), dirs.end());
    for (auto& [dir, names] : dirs) {
      std::sort(names.begin(), names.end());
      for (const std::string& name : names) {
        index_->path_offsets.push_back(index_->path_bytes.size());
        absl::StrAppend(&index_->path_bytes, dir, "/", name);
        index_->path_bytes.push_back('\0');
        index_->labels.push_back(label);
      }
    }
  }

 private:
  void Walk(
      const std::string& rel, std::set<std::pair<dev_t, ino_t>>* ancestors,
      std::vector<std::pair<std::string, std::vector<std::string>>>* out) {
    const std::string full = index_->root + "/" + rel;
    struct stat st;
    if (::stat(full.c_str(), &st) != 0) return;
    // A symlink loop would make os.walk recurse until the path is too long;
    // here a directory already on the current path is not entered again.
    const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
    if (!ancestors->insert(id).second) return;
    absl::StatusOr<DirEntries> entries = ListDir(full);
    if (!entries.ok()) {
      IndexProblem p;
      p.position = index_->size();
      p.reason = "unreadable";
      p.file = full;
      p.detail = std::string(entries.status().message());
      index_->problems.push_back(std::move(p));
    } else {
      std::vector<std::string> images;
      for (const std::string& f : entries->files) {
        if (HasImageExtension(f)) images.push_back(f);
      }
      out->emplace_back(rel, std::move(images));
      for (const std::string& d : entries->dirs) {
        Walk(rel + "/" + d, ancestors, out);
      }
    }
    ancestors->erase(id);
  }

  ImageFolderIndex* const index_;
};

class ImageFolderReader final : public ShardedFileReader {
 public:
  ImageFolderReader(const ShardPlan* plan, SkipSink* skips,
                    std::shared_ptr<const ImageFolderIndex> index, bool shuffle,
                    uint64_t seed)
      : ShardedFileReader(plan, skips),
        index_(std::move(index)),
        shuffle_(shuffle),
        seed_(seed) {}

 private:
  // The tree is one "file" of the plan: make this epoch's visiting order of
  // the images the shard owns.
  absl::Status OpenFile(const DataFile& file, uint64_t epoch) override {
    order_.clear();
    for (uint64_t i = 0; i < index_->size(); ++i) {
      if (plan().Owns(i)) order_.push_back(i);
    }
    if (shuffle_) {
      Rng rng(MixSeed(seed_, epoch));
      for (size_t i = order_.size(); i > 1; --i) {
        std::swap(order_[i - 1], order_[rng.Below(i)]);
      }
    }
    next_ = 0;
    size_t next_problem = 0;
    ReportProblemsUpTo(index_->problems, file.num_records, plan(), 0, skips(),
                       &next_problem);
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<RawExample>> NextInFile(
      const DataFile&) override {
    while (next_ < order_.size()) {
      const uint64_t i = order_[next_++];
      const std::string path = index_->FullPath(i);
      absl::StatusOr<std::string> data =
          ReadWholeFile(path, kMaxEncodedImageBytes);
      if (!data.ok()) {
        skips()->OnSkip(absl::IsResourceExhausted(data.status()) ? "bad_size"
                                                                 : "unreadable",
                        path, 0, data.status().message());
        continue;
      }
      RawExample ex;
      ex.data = *std::move(data);
      ex.label = index_->labels[i];
      ex.index = i;
      return ex;
    }
    return std::nullopt;
  }

  const std::shared_ptr<const ImageFolderIndex> index_;
  const bool shuffle_;
  const uint64_t seed_;
  std::vector<uint64_t> order_;
  size_t next_ = 0;
};

}  // namespace

std::string ImageFolderIndex::FullPath(size_t i) const {
  return absl::StrCat(root, "/", path_bytes.c_str() + path_offsets[i]);
}

absl::StatusOr<ImageFolderIndex> IndexImageFolder(const std::string& root) {
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat("ImageFolder root '", root, "': ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("ImageFolder root '", root, "' is not a directory"));
  }
  absl::StatusOr<DirEntries> top = ListDir(root);
  if (!top.ok()) return top.status();
  ImageFolderIndex index;
  index.root = root;
  while (index.root.size() > 1 && index.root.back() == '/') {
    index.root.pop_back();
  }
  index.classes = top->dirs;
  std::sort(index.classes.begin(), index.classes.end());
  if (index.classes.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ImageFolder root '", root,
        "' has no class directories (expected root/<class>/<image>)"));
  }
  Walker walker(&index);
  for (size_t c = 0; c < index.classes.size(); ++c) {
    walker.AddClass(index.classes[c], static_cast<int32_t>(c));
  }
  return index;
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenImageFolderDataset(
    absl::string_view root, const DatasetOptions& options) {
  absl::StatusOr<ImageFolderIndex> walked = IndexImageFolder(std::string(root));
  if (!walked.ok()) return walked.status();
  if (walked->size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ImageFolder root '", root, "' has ", walked->classes.size(),
        " class directories but no .jpg, .jpeg or .png file in them"));
  }
  auto index = std::make_shared<const ImageFolderIndex>(*std::move(walked));
  // The whole tree is one planned "file", so shards split it image by image.
  DataFile tree;
  tree.path = index->root;
  tree.num_records = index->size();
  absl::StatusOr<ShardPlan> plan =
      ShardPlan::Create({tree}, options.shard_index, options.num_shards,
                        options.seed, options.shuffle_files);
  if (!plan.ok()) return plan.status();
  FileDataset::Parts parts;
  parts.shape =
      EncodedImageShape(options, static_cast<int>(index->classes.size()));
  parts.class_names = index->classes;
  const bool shuffle = options.shuffle_files;
  const uint64_t seed = options.seed;
  parts.new_reader = [index, shuffle, seed](const ShardPlan* plan,
                                            SkipSink* skips) {
    return std::make_unique<ImageFolderReader>(plan, skips, index, shuffle,
                                               seed);
  };
  const PreprocessOptions preprocess = ImagePreprocessOptions(options);
  parts.new_decoder = [preprocess] {
    return std::make_unique<EncodedImageDecoder>(preprocess);
  };
  parts.read_record = [index](const ShardPlan&,
                              uint64_t i) -> absl::StatusOr<RawExample> {
    absl::StatusOr<std::string> data =
        ReadWholeFile(index->FullPath(i), kMaxEncodedImageBytes);
    if (absl::IsResourceExhausted(data.status())) {
      return absl::DataLossError(data.status().message());
    }
    if (!data.ok()) return data.status();
    RawExample ex;
    ex.data = *std::move(data);
    ex.label = index->labels[i];
    ex.index = i;
    return ex;
  };
  return std::make_unique<FileDataset>(*std::move(plan), std::move(parts));
}

}  // namespace inputserve
