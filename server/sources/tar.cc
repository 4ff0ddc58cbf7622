#include "server/sources/tar.h"

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace inputserve {
namespace {

// ustar header layout (offsets, sizes).
constexpr size_t kNameOff = 0, kNameLen = 100;
constexpr size_t kSizeOff = 124, kSizeLen = 12;
constexpr size_t kChecksumOff = 148, kChecksumLen = 8;
constexpr size_t kTypeOff = 156;
constexpr size_t kMagicOff = 257;
constexpr size_t kPrefixOff = 345, kPrefixLen = 155;
constexpr uint64_t kMaxTarNumber = uint64_t{1} << 62;
constexpr size_t kScanBuffer = 64 << 10;

uint64_t RoundUpToBlock(uint64_t n) {
  return (n + kTarBlock - 1) / kTarBlock * kTarBlock;
}

// A NUL-terminated (or full-width) string field.
std::string Field(absl::string_view header, size_t off, size_t len) {
  absl::string_view f = header.substr(off, len);
  const size_t nul = f.find('\0');
  return std::string(f.substr(0, nul));
}

bool AllZero(absl::string_view block) {
  for (char c : block) {
    if (c != 0) return false;
  }
  return true;
}

// Header checksum: the sum of all bytes with the checksum field read as
// spaces. Old tars summed signed chars; accept either.
bool ChecksumMatches(absl::string_view header, uint64_t stored) {
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kTarBlock; ++i) {
    const bool in_field = i >= kChecksumOff && i < kChecksumOff + kChecksumLen;
    const char c = in_field ? ' ' : header[i];
    unsigned_sum += static_cast<unsigned char>(c);
    signed_sum += static_cast<signed char>(c);
  }
  return stored == unsigned_sum || static_cast<int64_t>(stored) == signed_sum;
}

// Applies the "path" and "size" records of a pax extended header.
absl::Status ParsePax(absl::string_view data, std::string* path, uint64_t* size,
                      bool* has_size) {
  while (!data.empty()) {
    // "<len> <key>=<value>\n", where len counts the whole record.
    const size_t space = data.find(' ');
    uint64_t len = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtoi(data.substr(0, space), &len) || len <= space + 1 ||
        len > data.size() || data[len - 1] != '\n') {
      return absl::InvalidArgumentError("malformed pax record");
    }
    absl::string_view record = data.substr(space + 1, len - space - 2);
    data.remove_prefix(len);
    const size_t eq = record.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError("pax record without '='");
    }
    const absl::string_view key = record.substr(0, eq);
    const absl::string_view value = record.substr(eq + 1);
    if (key == "path") {
      *path = std::string(value);
    } else if (key == "size") {
      if (!absl::SimpleAtoi(value, size) || *size > kMaxTarNumber) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad pax size '", value, "'"));
      }
      *has_size = true;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> ParseTarNumber(absl::string_view field) {
  if (!field.empty() && (static_cast<unsigned char>(field[0]) & 0x80)) {
    // Base-256: two's complement big-endian; 0xff first means negative.
    if (static_cast<unsigned char>(field[0]) == 0xff) {
      return absl::InvalidArgumentError("negative base-256 number");
    }
    uint64_t v = static_cast<unsigned char>(field[0]) & 0x7f;
    for (size_t i = 1; i < field.size(); ++i) {
      if (v > (kMaxTarNumber >> 8)) {
        return absl::InvalidArgumentError("base-256 number too large");
      }
      v = (v << 8) | static_cast<unsigned char>(field[i]);
    }
    if (v > kMaxTarNumber) {
      return absl::InvalidArgumentError("base-256 number too large");
    }
    return v;
  }
  size_t i = 0;
  while (i < field.size() && field[i] == ' ') ++i;
  uint64_t v = 0;
  bool digits = false;
  for (; i < field.size(); ++i) {
    const char c = field[i];
    if (c == '\0' || c == ' ') break;
    if (c < '0' || c > '7') {
      return absl::InvalidArgumentError(
          absl::StrCat("bad octal digit (byte ",
                       static_cast<int>(static_cast<unsigned char>(c)), ")"));
    }
    v = v * 8 + static_cast<uint64_t>(c - '0');
    if (v > kMaxTarNumber) {
      return absl::InvalidArgumentError("octal number too large");
    }
    digits = true;
  }
  // Everything after the terminator must be terminators too.
  for (; i < field.size(); ++i) {
    if (field[i] != '\0' && field[i] != ' ') {
      return absl::InvalidArgumentError("garbage after octal number");
    }
  }
  if (!digits) return uint64_t{0};
  return v;
}

bool IsSafeTarName(absl::string_view name) {
  if (name.empty() || name[0] == '/') return false;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part == "..") return false;
  }
  return true;
}

absl::Status TarReader::Open(const std::string& path) {
  problem_ = TarProblem();
  next_header_ = 0;
  done_ = false;
  // Headers only: a small buffer, and data the caller does not read is
  // skipped with a seek instead of being read through.
  return file_.Open(path, kScanBuffer);
}

bool TarReader::Stop(absl::string_view reason, uint64_t offset,
                     std::string detail) {
  problem_.reason = std::string(reason);
  problem_.offset = offset;
  problem_.detail = std::move(detail);
  done_ = true;
  return false;
}

absl::Status TarReader::SeekTo(uint64_t offset) {
  if (offset <= file_.offset()) return absl::OkStatus();
  return file_.Skip(offset - file_.offset());
}

absl::StatusOr<bool> TarReader::ReadExtended(uint64_t header_offset,
                                             uint64_t size, std::string* out) {
  if (size > kMaxTarExtendedHeader) {
    return Stop("bad_size", header_offset,
                absl::StrCat("extended header of ", size, " bytes (limit ",
                             kMaxTarExtendedHeader, ")"));
  }
  absl::StatusOr<absl::string_view> data = file_.Read(size);
  if (!data.ok()) return data.status();
  if (data->size() < size) {
    return Stop("truncated", header_offset, "extended header cut short");
  }
  out->assign(data->data(), data->size());
  return true;
}

absl::StatusOr<bool> TarReader::Next(TarMember* out) {
  std::string long_name;
  std::string pax_path;
  uint64_t pax_size = 0;
  bool has_pax_size = false;
  while (!done_) {
    if (next_header_ >= file_.size()) {
      // The end of the file, without end-of-archive blocks (common), maybe
      // even without the last member's padding.
      done_ = true;
      return false;
    }
    if (absl::Status s = SeekTo(next_header_); !s.ok()) return s;
    const uint64_t header_offset = file_.offset();
    if (header_offset != next_header_) {
      return Stop("truncated", next_header_, "archive ends inside a member");
    }
    absl::StatusOr<absl::string_view> block = file_.Read(kTarBlock);
    if (!block.ok()) return block.status();
    if (block->size() < kTarBlock) {
      return Stop("truncated", header_offset, "partial header block");
    }
    const std::string header(block->data(), block->size());
    if (AllZero(header)) {
      done_ = true;
      return false;
    }
    absl::StatusOr<uint64_t> checksum = ParseTarNumber(
        absl::string_view(header).substr(kChecksumOff, kChecksumLen));
    if (!checksum.ok() || !ChecksumMatches(header, *checksum)) {
      return Stop("bad_crc", header_offset,
                  "tar header checksum mismatch (not a tar archive, or "
                  "corrupt)");
    }
    absl::StatusOr<uint64_t> size =
        ParseTarNumber(absl::string_view(header).substr(kSizeOff, kSizeLen));
    if (!size.ok()) {
      return Stop("bad_size", header_offset,
                  absl::StrCat("bad size field: ", size.status().message()));
    }
    const char type = header[kTypeOff];
    uint64_t data_size = *size;
    const bool regular = type == '0' || type == '\0' || type == '7';
    if (regular && has_pax_size) data_size = pax_size;
    const uint64_t data_offset = header_offset + kTarBlock;
    if (data_size > file_.size() || data_offset > file_.size() - data_size) {
      return Stop("truncated", header_offset,
                  absl::StrCat("member declares ", data_size,
                               " bytes but the archive ends first"));
    }
    next_header_ = data_offset + RoundUpToBlock(data_size);
    if (type == 'L' || type == 'x') {
      std::string ext;
      absl::StatusOr<bool> ok = ReadExtended(header_offset, data_size, &ext);
      if (!ok.ok() || !*ok) return ok;
      if (type == 'L') {
        long_name = ext.substr(0, ext.find('\0'));
      } else if (absl::Status s =
                     ParsePax(ext, &pax_path, &pax_size, &has_pax_size);
                 !s.ok()) {
        return Stop("bad_size", header_offset,
                    absl::StrCat("pax header: ", s.message()));
      }
      continue;
    }
    if (!regular) {
      // Directories, links, devices, global pax headers ('g'), GNU 'K':
      // nothing to serve. Their extensions apply to them and are consumed.
      long_name.clear();
      pax_path.clear();
      has_pax_size = false;
      continue;
    }
    if (!pax_path.empty()) {
      out->name = pax_path;
    } else if (!long_name.empty()) {
      out->name = long_name;
    } else {
      out->name = Field(header, kNameOff, kNameLen);
      const std::string prefix = Field(header, kPrefixOff, kPrefixLen);
      if (header.compare(kMagicOff, 5, "ustar") == 0 && !prefix.empty()) {
        out->name = absl::StrCat(prefix, "/", out->name);
      }
    }
    out->header_offset = header_offset;
    out->data_offset = data_offset;
    out->size = data_size;
    return true;
  }
  return false;
}

absl::StatusOr<absl::string_view> TarReader::ReadData(const TarMember& member) {
  if (file_.offset() != member.data_offset) {
    return absl::FailedPreconditionError(
        "ReadData() is only valid once, right after Next()");
  }
  absl::StatusOr<absl::string_view> data = file_.Read(member.size);
  if (!data.ok()) return data.status();
  if (data->size() < member.size) {
    return absl::DataLossError(absl::StrCat("member '", member.name, "' of '",
                                            file_.path(), "' is truncated"));
  }
  return data;
}

}  // namespace inputserve
