// Reading a whole file into memory, with an error that names the path and
// the operating system's reason. Stateless; thread-safe.
#ifndef INPUTSERVE_COMMON_FILE_UTIL_H_
#define INPUTSERVE_COMMON_FILE_UTIL_H_

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace inputserve {

// The bytes of the file at `path`. A file that cannot be opened or read
// (missing, no permission, a directory) is an error whose code follows errno
// (NOT_FOUND, PERMISSION_DENIED, ...) and whose message reads
// "cannot read <what> '<path>': <reason>" (`what` names the file's role, e.g.
// "TLS CA file"; empty leaves it out).
inline absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                                 const std::string& what = "") {
  const std::string context = absl::StrCat(
      "cannot read ", what, what.empty() ? "" : " ", "'", path, "'");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, context);
  std::string contents;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return absl::ErrnoToStatus(error, context);
    }
    contents.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return contents;
}

}  // namespace inputserve

#endif  // INPUTSERVE_COMMON_FILE_UTIL_H_
