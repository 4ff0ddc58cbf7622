// Streaming reader of tar archives (POSIX ustar, GNU and pax extensions):
// walks the member headers of one file front to back without extracting
// anything, skipping the data of members the caller does not read. Member
// names are data only: nothing is ever opened by a member's name, so hostile
// names ("../x", "/etc/passwd") cannot reach outside the archive; absurd
// sizes, truncated members and bad header checksums end the walk with a
// described problem instead of a crash. A TarReader is used by one thread.
#ifndef INPUTSERVE_SERVER_SOURCES_TAR_H_
#define INPUTSERVE_SERVER_SOURCES_TAR_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/sources/file_list.h"

namespace inputserve {

constexpr size_t kTarBlock = 512;
// Longest GNU long name or pax header the reader accepts.
constexpr size_t kMaxTarExtendedHeader = 1 << 20;

// A regular-file member.
struct TarMember {
  std::string name;  // Full path inside the archive.
  uint64_t header_offset = 0;
  uint64_t data_offset = 0;  // File offset of the first data byte.
  uint64_t size = 0;         // Data bytes (data_offset + size <= file size).
};

// Why a walk ended early.
struct TarProblem {
  std::string reason;  // "truncated" or "bad_crc" (header checksum), "bad_size"
  uint64_t offset = 0;
  std::string detail;
};

class TarReader {
 public:
  absl::Status Open(const std::string& path);

  // The next regular-file member (directories, links and other entries are
  // passed over). False at the end of the archive or when its structure can
  // no longer be trusted; then problem() says why (empty reason for a clean
  // end). A non-OK status is an I/O error.
  absl::StatusOr<bool> Next(TarMember* out);

  // Reads the data of the member Next() returned last (at most once, before
  // the following Next()).
  absl::StatusOr<absl::string_view> ReadData(const TarMember& member);

  const TarProblem& problem() const { return problem_; }
  const std::string& path() const { return file_.path(); }

 private:
  // Ends the walk with a problem; returns false for Next().
  bool Stop(absl::string_view reason, uint64_t offset, std::string detail);
  // Moves the file to `offset` (>= the current offset).
  absl::Status SeekTo(uint64_t offset);
  // Reads a whole extended header (GNU long name, pax) of `size` bytes.
  absl::StatusOr<bool> ReadExtended(uint64_t header_offset, uint64_t size,
                                    std::string* out);

  BufferedFile file_;
  uint64_t next_header_ = 0;
  bool done_ = true;
  TarProblem problem_;
};

// Parses a tar numeric field: octal digits (leading spaces allowed, ended by
// NUL or space) or GNU base-256 (high bit of the first byte set). Negative,
// malformed or values above 2^62 are INVALID_ARGUMENT.
absl::StatusOr<uint64_t> ParseTarNumber(absl::string_view field);

// Whether a member name is safe to treat as a relative path: not absolute
// and without ".." components.
bool IsSafeTarName(absl::string_view name);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_TAR_H_
