#include "server/sources/file_list.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace inputserve {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path,
                        int err) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", what, " '", path, "': ", std::strerror(err)));
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// glob(3) into a sorted vector; an empty vector when nothing matches.
absl::StatusOr<std::vector<std::string>> Glob(const std::string& pattern) {
  glob_t g;
  std::memset(&g, 0, sizeof(g));
  const int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g);
  std::vector<std::string> names;
  if (rc == 0) {
    names.reserve(g.gl_pathc);
    for (size_t i = 0; i < g.gl_pathc; ++i) names.emplace_back(g.gl_pathv[i]);
  }
  ::globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot expand '", pattern, "': glob error ", rc));
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ExpandDataFiles(
    absl::string_view pattern, const std::vector<std::string>& dir_patterns) {
  if (pattern.empty()) {
    return absl::InvalidArgumentError("empty file path or glob");
  }
  const std::string pat(pattern);
  std::vector<std::string> files;
  if (IsDirectory(pat) && !dir_patterns.empty()) {
    std::string dir = pat;
    if (dir.back() != '/') dir += '/';
    for (const std::string& p : dir_patterns) {
      absl::StatusOr<std::vector<std::string>> m = Glob(dir + p);
      if (!m.ok()) return m.status();
      if (!m->empty()) {
        files = *std::move(m);
        break;
      }
    }
    if (files.empty()) {
      std::string tried;
      for (const std::string& p : dir_patterns) {
        absl::StrAppend(&tried, tried.empty() ? "" : ", ", p);
      }
      return absl::NotFoundError(absl::StrCat(
          "directory '", pat, "' has no data files (looked for ", tried, ")"));
    }
  } else {
    absl::StatusOr<std::vector<std::string>> m = Glob(pat);
    if (!m.ok()) return m.status();
    if (m->empty()) {
      return absl::NotFoundError(absl::StrCat("no files match '", pat, "'"));
    }
    files = *std::move(m);
  }
  for (const std::string& f : files) {
    if (IsDirectory(f)) {
      return absl::FailedPreconditionError(
          absl::StrCat("'", f,
                       "' is a directory; expected a data file (give a glob of "
                       "files)"));
    }
    // O_NONBLOCK: opening a FIFO without a writer would block start-up
    // forever; this only checks access, and FileSize rejects non-files.
    const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return ErrnoError("open", f, errno);
    ::close(fd);
  }
  return files;
}

absl::StatusOr<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError("stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is not a regular file"));
  }
  return static_cast<uint64_t>(st.st_size);
}

namespace {

// Reads up to `size` bytes at `offset` of an open file into a string
// (shorter only at end of file) and closes the file.
absl::StatusOr<std::string> PreadAndClose(int fd, const std::string& path,
                                          uint64_t offset, size_t size) {
  std::string out(size, '\0');
  size_t got = 0;
  int err = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd, out.data() + got, size - got,
                              static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (err != 0) return ErrnoError("read", path, err);
  out.resize(got);
  return out;
}

}  // namespace

absl::StatusOr<std::string> ReadFileRange(const std::string& path,
                                          uint64_t offset, size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path, errno);
  absl::StatusOr<std::string> out = PreadAndClose(fd, path, offset, size);
  if (out.ok() && out->size() < size) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is truncated: wanted ", size,
                     " bytes at offset ", offset, ", got ", out->size()));
  }
  return out;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          uint64_t max_bytes) {
  // O_NONBLOCK: a FIFO without a writer must not stall the reader thread.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoError("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is not a readable regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return absl::ResourceExhaustedError(absl::StrCat(
        "'", path, "' has ", st.st_size, " bytes (limit ", max_bytes, ")"));
  }
  return PreadAndClose(fd, path, 0, static_cast<size_t>(st.st_size));
}

BufferedFile::~BufferedFile() { Close(); }

void BufferedFile::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status BufferedFile::Open(const std::string& path, size_t buffer_size) {
  Close();
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return ErrnoError("open", path, errno);
  struct stat st;
  if (::fstat(fd_, &st) != 0) return ErrnoError("stat", path, errno);
  size_ = static_cast<uint64_t>(st.st_size);
  // Tell the kernel to read ahead aggressively: access is strictly forward.
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  buffer_.resize(std::max<size_t>(buffer_size, 4096));
  offset_ = 0;
  begin_ = end_ = 0;
  eof_ = false;
  return absl::OkStatus();
}

absl::Status BufferedFile::Fill(size_t want) {
  if (end_ - begin_ >= want || eof_) return absl::OkStatus();
  // Move the unread tail to the front, grow for records larger than the
  // buffer, then read until `want` bytes are buffered or the file ends.
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() < want) buffer_.resize(want);
  while (end_ < want) {
    const ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", path_, errno);
    }
    if (n == 0) {
      eof_ = true;
      break;
    }
    end_ += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::string_view> BufferedFile::Read(size_t n) {
  if (fd_ < 0) return absl::FailedPreconditionError("file not open");
  if (absl::Status s = Fill(n); !s.ok()) return s;
  const size_t got = std::min(n, end_ - begin_);
  absl::string_view view(buffer_.data() + begin_, got);
  begin_ += got;
  offset_ += got;
  return view;
}

absl::Status BufferedFile::Skip(uint64_t n) {
  if (fd_ < 0) return absl::FailedPreconditionError("file not open");
  const size_t buffered = end_ - begin_;
  if (n <= buffered) {
    begin_ += n;
    offset_ += n;
    return absl::OkStatus();
  }
  const uint64_t target = std::min(offset_ + n, size_);
  if (::lseek(fd_, static_cast<off_t>(target), SEEK_SET) < 0) {
    return ErrnoError("seek in", path_, errno);
  }
  begin_ = end_ = 0;
  offset_ = target;
  eof_ = false;
  return absl::OkStatus();
}

}  // namespace inputserve
