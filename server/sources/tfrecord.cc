#include "server/sources/tfrecord.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/sources/crc32c.h"

namespace inputserve {
namespace {

uint64_t Load64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint32_t Load32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void Store(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>(v >> (8 * i)));
}

bool LengthCrcOk(const char* header) {
  return MaskCrc(Crc32c(header, 8)) == Load32(header + 8);
}

bool DataCrcOk(const char* data, uint64_t len, const char* footer) {
  return MaskCrc(Crc32c(data, len)) == Load32(footer);
}

// pread until `n` bytes or end of file; returns the count read.
absl::StatusOr<size_t> PreadFull(int fd, const std::string& path, char* buf,
                                 size_t n, uint64_t offset) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, buf + got, n - got, offset + got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read '", path, "': ", std::strerror(errno)));
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

constexpr uint64_t kMaxRandomAccessRecordBytes = uint64_t{1} << 31;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

void AppendTfrecord(absl::string_view data, std::string* out) {
  std::string header;
  Store(data.size(), 8, &header);
  Store(MaskCrc(Crc32c(header.data(), 8)), 4, &header);
  out->append(header);
  out->append(data.data(), data.size());
  Store(MaskCrc(Crc32c(data.data(), data.size())), 4, out);
}

absl::StatusOr<TfrecordScan> ScanTfrecordFile(const std::string& path) {
  absl::StatusOr<uint64_t> size = FileSize(path);
  if (!size.ok()) return size.status();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  }
  TfrecordScan scan;
  std::vector<char> data;
  uint64_t offset = 0;
  char header[kTfrecordHeaderBytes];
  while (offset < *size) {
    absl::StatusOr<size_t> got =
        PreadFull(fd.get(), path, header, sizeof(header), offset);
    if (!got.ok()) return got.status();
    if (*got < sizeof(header)) {
      scan.tail_reason = "truncated";
      scan.tail_detail =
          absl::StrCat("record header cut short (", *got, " of 12 bytes)");
      break;
    }
    if (!LengthCrcOk(header)) {
      scan.tail_reason = "bad_crc";
      scan.tail_detail = "length CRC mismatch; rest of file skipped";
      break;
    }
    const uint64_t len = Load64(header);
    const uint64_t room = *size - offset - kTfrecordHeaderBytes;
    if (room < kTfrecordFooterBytes || len > room - kTfrecordFooterBytes) {
      scan.tail_reason = "truncated";
      scan.tail_detail = absl::StrCat("record of ", len, " bytes cut short by ",
                                      "end of file");
      break;
    }
    if (!scan.has_valid_record) {
      // Verify data CRCs until one record passes; usually the first does.
      data.resize(len + kTfrecordFooterBytes);
      got = PreadFull(fd.get(), path, data.data(), data.size(),
                      offset + kTfrecordHeaderBytes);
      if (!got.ok()) return got.status();
      scan.has_valid_record =
          *got == data.size() && DataCrcOk(data.data(), len, data.data() + len);
    }
    ++scan.num_records;
    scan.offsets.push_back(offset);
    offset += kTfrecordHeaderBytes + len + kTfrecordFooterBytes;
  }
  scan.tail_offset = offset;
  if (scan.tail_reason.empty()) scan.tail_offset = 0;
  return scan;
}

absl::StatusOr<std::string> ReadTfrecordAt(const std::string& path,
                                           uint64_t offset) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  }
  char header[kTfrecordHeaderBytes];
  absl::StatusOr<size_t> got =
      PreadFull(fd.get(), path, header, sizeof(header), offset);
  if (!got.ok()) return got.status();
  if (*got < sizeof(header) || !LengthCrcOk(header)) {
    return absl::DataLossError(absl::StrCat(
        "'", path, "' at offset ", offset, ": record header ",
        *got < sizeof(header) ? "cut short" : "fails its length CRC"));
  }
  const uint64_t len = Load64(header);
  // The file was counted at open; a length beyond any image means it changed.
  if (len > kMaxRandomAccessRecordBytes) {
    return absl::DataLossError(absl::StrCat("'", path, "' at offset ", offset,
                                            ": implausible record length ",
                                            len));
  }
  std::string data(len + kTfrecordFooterBytes, '\0');
  got = PreadFull(fd.get(), path, data.data(), data.size(),
                  offset + kTfrecordHeaderBytes);
  if (!got.ok()) return got.status();
  if (*got < data.size()) {
    return absl::DataLossError(
        absl::StrCat("'", path, "' at offset ", offset,
                     ": record cut short by end of file"));
  }
  if (!DataCrcOk(data.data(), len, data.data() + len)) {
    return absl::DataLossError(
        absl::StrCat("'", path, "' at offset ", offset, ": data CRC mismatch"));
  }
  data.resize(len);
  return data;
}

absl::Status TfrecordReader::Open(const std::string& path,
                                  uint64_t max_records) {
  ordinal_ = 0;
  max_records_ = max_records;
  done_ = false;
  return file_.Open(path);
}

absl::StatusOr<bool> TfrecordReader::Next(
    const std::function<bool(uint64_t)>& wanted, SkipSink* skips,
    TfrecordRecord* out) {
  while (!done_) {
    if (ordinal_ == max_records_) {
      done_ = true;
      break;
    }
    const uint64_t offset = file_.offset();
    const uint64_t ordinal = ordinal_++;
    const bool want = wanted(ordinal);
    absl::StatusOr<absl::string_view> header = file_.Read(kTfrecordHeaderBytes);
    if (!header.ok()) return header.status();
    // The file was counted at open; framing problems here mean it changed.
    if (header->size() < kTfrecordHeaderBytes || !LengthCrcOk(header->data())) {
      if (want) {
        skips->OnSkip(
            header->size() < kTfrecordHeaderBytes ? "truncated" : "bad_crc",
            file_.path(), offset,
            "record header unreadable; rest of file skipped");
      }
      done_ = true;
      break;
    }
    const uint64_t len = Load64(header->data());
    if (len > file_.size() - file_.offset()) {
      if (want) {
        skips->OnSkip("truncated", file_.path(), offset,
                      "record cut short by end of file");
      }
      done_ = true;
      break;
    }
    if (!want) {
      if (absl::Status s = file_.Skip(len + kTfrecordFooterBytes); !s.ok()) {
        return s;
      }
      out->data = absl::string_view();
      out->offset = offset;
      out->ordinal = ordinal;
      return true;
    }
    absl::StatusOr<absl::string_view> body =
        file_.Read(len + kTfrecordFooterBytes);
    if (!body.ok()) return body.status();
    if (body->size() < len + kTfrecordFooterBytes) {
      skips->OnSkip("truncated", file_.path(), offset,
                    "record cut short by end of file");
      done_ = true;
      break;
    }
    if (!DataCrcOk(body->data(), len, body->data() + len)) {
      skips->OnSkip("bad_crc", file_.path(), offset, "data CRC mismatch");
      continue;
    }
    out->data = body->substr(0, len);
    out->offset = offset;
    out->ordinal = ordinal;
    return true;
  }
  file_.Close();
  return false;
}

}  // namespace inputserve
