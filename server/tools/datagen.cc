#include "server/tools/datagen.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/codec/rng.h"

namespace inputserve {
namespace {

// Upper bounds that keep a mistyped flag from filling the disk or memory.
constexpr uint64_t kMaxExamples = 100'000'000;
constexpr int kMaxFiles = 100'000;
constexpr int kMaxSide = 8192;

}  // namespace

absl::Status MakeDirs(const std::string& dir) {
  std::string path;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      path = dir.substr(0, i);
      if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::FailedPreconditionError(absl::StrCat(
            "cannot create directory '", path, "': ", std::strerror(errno)));
      }
    }
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--out '", dir, "' is not a directory"));
  }
  return absl::OkStatus();
}

absl::Status CheckDatagenOptions(const DatagenOptions& o) {
  if (o.out_dir.empty()) {
    return absl::InvalidArgumentError("--out is required (output directory)");
  }
  if (o.num_examples == 0 || o.num_examples > kMaxExamples) {
    return absl::InvalidArgumentError(
        absl::StrCat("--num_examples must be in [1, ", kMaxExamples, "], got ",
                     o.num_examples));
  }
  if (o.num_files < 0 || o.num_files > kMaxFiles) {
    return absl::InvalidArgumentError(
        absl::StrCat("--num_files must be in [0, ", kMaxFiles,
                     "] (0 = default), got ", o.num_files));
  }
  if (o.format != DatagenOptions::Format::kCifar10) {
    if (o.min_size < 8 || o.min_size > kMaxSide) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--min_size must be in [8, ", kMaxSide, "], got ", o.min_size));
    }
    if (o.max_size < o.min_size || o.max_size > kMaxSide) {
      return absl::InvalidArgumentError(
          absl::StrCat("--max_size must be in [--min_size=", o.min_size, ", ",
                       kMaxSide, "], got ", o.max_size));
    }
    if (!(o.grayscale_fraction >= 0.0 && o.grayscale_fraction <= 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--grayscale_fraction must be in [0, 1], got ",
                       o.grayscale_fraction));
    }
    if (o.quality < 1 || o.quality > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("--quality must be in [1, 100], got ", o.quality));
    }
    if (o.num_classes < 1 || o.num_classes > 1'000'000) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--num_classes must be in [1, 1000000], got ", o.num_classes));
    }
    if (!(o.png_fraction >= 0.0 && o.png_fraction <= 1.0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--png_fraction must be in [0, 1], got ", o.png_fraction));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> WriteDataset(
    const DatagenOptions& options) {
  INPUTSERVE_RETURN_IF_ERROR(CheckDatagenOptions(options));
  INPUTSERVE_RETURN_IF_ERROR(MakeDirs(options.out_dir));
  switch (options.format) {
    case DatagenOptions::Format::kCifar10:
      return WriteCifar10Files(options);
    case DatagenOptions::Format::kTfrecord:
      return WriteTfrecordFiles(options);
    case DatagenOptions::Format::kImageFolder:
      return WriteImageFolder(options);
    case DatagenOptions::Format::kWebDataset:
      return WriteWebDatasetShards(options);
  }
  return absl::InvalidArgumentError("unknown datagen format");
}

int DatagenLabel(uint64_t seed, uint64_t index, int num_classes) {
  Rng rng(MixSeed(seed ^ 0x6c6162656cULL, index));
  return static_cast<int>(rng.Below(static_cast<uint64_t>(num_classes)));
}

void DatagenFileRange(uint64_t num_examples, int num_files, int file,
                      uint64_t* begin, uint64_t* end) {
  const uint64_t n = static_cast<uint64_t>(num_files);
  *begin = num_examples * file / n;
  *end = num_examples * (file + 1) / n;
}

absl::StatusOr<std::vector<std::string>> WriteSplitFiles(
    const DatagenOptions& options, int default_files,
    absl::FunctionRef<std::string(int file, int num_files)> path,
    absl::FunctionRef<absl::Status(uint64_t index, std::string* data)> append,
    absl::string_view trailer) {
  int num_files = options.num_files > 0 ? options.num_files : default_files;
  num_files =
      static_cast<int>(std::min<uint64_t>(num_files, options.num_examples));
  std::vector<std::string> written;
  for (int f = 0; f < num_files; ++f) {
    uint64_t begin, end;
    DatagenFileRange(options.num_examples, num_files, f, &begin, &end);
    std::string data;
    for (uint64_t i = begin; i < end; ++i) {
      if (absl::Status s = append(i, &data); !s.ok()) return s;
    }
    data.append(trailer.data(), trailer.size());
    written.push_back(path(f, num_files));
    if (absl::Status s = WriteWholeFile(written.back(), data); !s.ok()) {
      return s;
    }
  }
  return written;
}

absl::Status WriteWholeFile(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create '", path, "': ", std::strerror(errno)));
  }
  const size_t wrote = std::fwrite(data.data(), 1, data.size(), f);
  const bool closed = std::fclose(f) == 0;
  if (wrote != data.size() || !closed) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write '", path, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace inputserve
