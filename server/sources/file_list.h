// File lists for file-backed datasets: expands the path part of a dataset
// spec into a sorted list of readable regular files, and reads files in large
// sequential chunks. ExpandDataFiles is thread-safe; a BufferedFile is used by
// one thread.
#ifndef INPUTSERVE_SERVER_SOURCES_FILE_LIST_H_
#define INPUTSERVE_SERVER_SOURCES_FILE_LIST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inputserve {

// Expands `pattern` with glob(3) and sorts the names bytewise, so every
// replica sees the same order. When `pattern` names a directory and
// `dir_patterns` is not empty, the first of dir_patterns (globs relative to
// the directory) that matches anything is used; otherwise a directory is
// FAILED_PRECONDITION. NOT_FOUND when nothing matches; FAILED_PRECONDITION
// naming the file when a match is a directory or cannot be opened for reading.
absl::StatusOr<std::vector<std::string>> ExpandDataFiles(
    absl::string_view pattern, const std::vector<std::string>& dir_patterns);

// Size of a regular file in bytes; FAILED_PRECONDITION naming it on error.
absl::StatusOr<uint64_t> FileSize(const std::string& path);

// Exactly `size` bytes at `offset` of `path` (pread); FAILED_PRECONDITION
// naming the file when it cannot be read or is shorter ("truncated").
absl::StatusOr<std::string> ReadFileRange(const std::string& path,
                                          uint64_t offset, size_t size);

// A whole file of at most `max_bytes`: NOT_FOUND/FAILED_PRECONDITION naming
// it when it cannot be opened or read, RESOURCE_EXHAUSTED when larger.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          uint64_t max_bytes);

// Reads a file front to back through a large buffer so that each record costs
// no system call. Views returned by Read() stay valid until the next call.
class BufferedFile {
 public:
  static constexpr size_t kDefaultBufferSize = 4 << 20;

  BufferedFile() = default;
  ~BufferedFile();
  BufferedFile(const BufferedFile&) = delete;
  BufferedFile& operator=(const BufferedFile&) = delete;

  absl::Status Open(const std::string& path,
                    size_t buffer_size = kDefaultBufferSize);
  void Close();

  // Up to `n` bytes from the current offset; fewer only at end of file.
  absl::StatusOr<absl::string_view> Read(size_t n);
  // Advances `n` bytes without returning them (seeks past large gaps).
  absl::Status Skip(uint64_t n);

  uint64_t offset() const { return offset_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  absl::Status Fill(size_t want);

  int fd_ = -1;
  std::string path_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;  // File offset of buffer_[begin_].
  std::vector<char>
      buffer_;  // Holds file bytes [offset_, offset_ + end_-begin_).
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_FILE_LIST_H_
