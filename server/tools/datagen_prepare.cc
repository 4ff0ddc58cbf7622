#include "server/tools/datagen_prepare.h"

#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/codec/jpeg_restart.h"
#include "server/sources/example_proto.h"
#include "server/sources/file_list.h"
#include "server/sources/tfrecord.h"
#include "server/tools/datagen.h"

namespace inputserve {
namespace {

// Deeper than an Example's image value (Example > Features > map entry >
// Feature > BytesList > bytes) ever is.
constexpr int kMaxNesting = 16;

bool ReadVarint(const uint8_t*& p, const uint8_t* end, uint64_t* value) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      *value = v;
      return true;
    }
  }
  return false;
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

absl::StatusOr<std::string> Splice(absl::string_view msg,
                                   absl::string_view target,
                                   absl::string_view replacement, int depth) {
  if (depth > kMaxNesting)
    return absl::DataLossError("message nested too deep");
  const auto* begin = reinterpret_cast<const uint8_t*>(msg.data());
  const uint8_t* const end = begin + msg.size();
  const uint8_t* p = begin;
  while (p < end) {
    uint64_t tag = 0, skip = 0;
    if (!ReadVarint(p, end, &tag)) return absl::DataLossError("bad field tag");
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(p, end, &skip)) {
          return absl::DataLossError("bad varint");
        }
        continue;
      case 1:
        skip = 8;
        break;
      case 5:
        skip = 4;
        break;
      case 2: {
        const uint8_t* len_at = p;
        if (!ReadVarint(p, end, &skip) ||
            skip > static_cast<uint64_t>(end - p)) {
          return absl::DataLossError("bad field length");
        }
        const char* payload = reinterpret_cast<const char*>(p);
        if (target.data() >= payload &&
            target.data() + target.size() <= payload + skip) {
          std::string inner;
          if (target.data() == payload && target.size() == skip) {
            inner.assign(replacement.data(), replacement.size());
          } else {
            INPUTSERVE_ASSIGN_OR_RETURN(
                inner, Splice(absl::string_view(payload, skip), target,
                              replacement, depth + 1));
          }
          std::string out(msg.data(), len_at - begin);
          AppendVarint(inner.size(), &out);
          out += inner;
          out.append(payload + skip, end - (p + skip));
          return out;
        }
        break;
      }
      default:
        return absl::DataLossError(
            absl::StrCat("unsupported wire type ", tag & 7));
    }
    if (skip > static_cast<uint64_t>(end - p)) {
      return absl::DataLossError("field runs past the message");
    }
    p += skip;
  }
  return absl::DataLossError("replaced bytes not found in the message");
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

class CountingSkips : public SkipSink {
 public:
  void OnSkip(absl::string_view, absl::string_view, uint64_t,
              absl::string_view) override {
    ++count;
  }
  uint64_t count = 0;
};

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The record with its JPEG rewritten, or empty when it is to be copied as is.
std::string PreparedRecord(absl::string_view record, PrepareStats* stats) {
  absl::StatusOr<ImageExample> ex = ParseImageExample(record);
  if (!ex.ok() || ex->image.size() < 2 ||
      static_cast<uint8_t>(ex->image[0]) != 0xFF ||
      static_cast<uint8_t>(ex->image[1]) != 0xD8) {
    return "";
  }
  RestartIndex index;
  if (ParseRestartIndex(ex->image, &index).ok()) return "";  // Already done.
  const double cpu0 = ThreadCpuSeconds();
  absl::StatusOr<std::string> jpeg = RewriteWithRestarts(ex->image);
  stats->rewrite_cpu_seconds += ThreadCpuSeconds() - cpu0;
  if (!jpeg.ok()) return "";
  absl::StatusOr<std::string> out =
      ReplaceNestedBytes(record, ex->image, *jpeg);
  return out.ok() ? *std::move(out) : "";
}

absl::Status PrepareFile(const std::string& in, const std::string& out_path,
                         PrepareStats* stats) {
  INPUTSERVE_ASSIGN_OR_RETURN(TfrecordScan scan, ScanTfrecordFile(in));
  TfrecordReader reader;
  INPUTSERVE_RETURN_IF_ERROR(reader.Open(in, scan.num_records));
  CountingSkips skips;
  std::string out;
  TfrecordRecord rec;
  while (true) {
    INPUTSERVE_ASSIGN_OR_RETURN(
        bool more, reader.Next([](uint64_t) { return true; }, &skips, &rec));
    if (!more) break;
    const std::string prepared = PreparedRecord(rec.data, stats);
    if (prepared.empty()) {
      AppendTfrecord(rec.data, &out);
      ++stats->unchanged;
    } else {
      AppendTfrecord(prepared, &out);
      ++stats->rewritten;
    }
    ++stats->records;
  }
  stats->corrupt += skips.count;
  INPUTSERVE_ASSIGN_OR_RETURN(const uint64_t in_size, FileSize(in));
  stats->bytes_in += in_size;
  stats->bytes_out += out.size();
  ++stats->files;
  return WriteWholeFile(out_path, out);
}

}  // namespace

absl::StatusOr<std::string> ReplaceNestedBytes(absl::string_view msg,
                                               absl::string_view target,
                                               absl::string_view replacement) {
  if (target.data() < msg.data() ||
      target.data() + target.size() > msg.data() + msg.size()) {
    return absl::InvalidArgumentError("replaced bytes lie outside the message");
  }
  return Splice(msg, target, replacement, 0);
}

absl::StatusOr<PrepareStats> PrepareTfrecordDataset(
    const std::string& in_glob, const std::string& out_dir) {
  if (out_dir.empty()) return absl::InvalidArgumentError("--out is required");
  INPUTSERVE_ASSIGN_OR_RETURN(std::vector<std::string> files,
                              ExpandDataFiles(in_glob, {}));
  INPUTSERVE_RETURN_IF_ERROR(MakeDirs(out_dir));
  PrepareStats stats;
  for (const std::string& in : files) {
    const std::string out_path = absl::StrCat(out_dir, "/", BaseName(in));
    char in_real[PATH_MAX], out_real[PATH_MAX];
    if (realpath(in.c_str(), in_real) != nullptr &&
        realpath(out_path.c_str(), out_real) != nullptr &&
        std::string(in_real) == out_real) {
      return absl::InvalidArgumentError(
          absl::StrCat(out_path,
                       " would overwrite its input: choose another "
                       "--out directory"));
    }
    if (absl::Status s = PrepareFile(in, out_path, &stats); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(in, ": ", s.message()));
    }
  }
  return stats;
}

}  // namespace inputserve
