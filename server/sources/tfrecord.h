// TFRecord framing: each record is uint64 length (little-endian), uint32
// masked CRC-32C of those 8 bytes, the data, uint32 masked CRC-32C of the data.
// ScanTfrecordFile counts records at open time from the length headers alone
// and keeps each record's offset (the index for random access, read by
// ReadTfrecordAt); TfrecordReader walks one file through a large buffer and
// verifies both CRCs of the records the caller wants. A reader is used by one
// thread; ReadTfrecordAt is thread-safe.
#ifndef INPUTSERVE_SERVER_SOURCES_TFRECORD_H_
#define INPUTSERVE_SERVER_SOURCES_TFRECORD_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/sources/dataset.h"
#include "server/sources/file_list.h"

namespace inputserve {

constexpr size_t kTfrecordHeaderBytes = 12;  // length + masked CRC of length.
constexpr size_t kTfrecordFooterBytes = 4;   // masked CRC of data.

// Appends one framed record to `out` (for writers and tools).
void AppendTfrecord(absl::string_view data, std::string* out);

// What ScanTfrecordFile learned about a file.
struct TfrecordScan {
  // Complete records with a valid length CRC before the first framing
  // problem (or end of file).
  uint64_t num_records = 0;
  // File offset of each counted record's header: the record index. 8 bytes
  // per record (ImageNet's 1.28 M records: about 10 MB).
  std::vector<uint64_t> offsets;
  // Whether some record also passed its data CRC (a file without one cannot
  // be served).
  bool has_valid_record = false;
  // A framing problem after the last counted record: reason "truncated" or
  // "bad_crc" (length CRC), its offset and a description; empty if none.
  std::string tail_reason;
  uint64_t tail_offset = 0;
  std::string tail_detail;
};

// Reads only the 12-byte headers (plus the data of the first records until
// one passes its CRC), so counting costs one small read per record.
absl::StatusOr<TfrecordScan> ScanTfrecordFile(const std::string& path);

// One record as the reader hands it out.
struct TfrecordRecord {
  absl::string_view data;  // Valid until the next call; empty if not wanted.
  uint64_t offset = 0;     // File offset of the record's header.
  uint64_t ordinal = 0;    // 0-based position of the record in the file.
};

// The data of the record whose header is at `offset` of `path`, with both
// CRCs checked. DATA_LOSS when the record's bytes are bad (CRC mismatch, cut
// short); another error when the file cannot be opened or read.
absl::StatusOr<std::string> ReadTfrecordAt(const std::string& path,
                                           uint64_t offset);

class TfrecordReader {
 public:
  // `max_records`: stop after this many records (the count taken at open
  // time), so an epoch's size stays exact.
  absl::Status Open(const std::string& path, uint64_t max_records);

  // Moves to the next record. Returns false at the end of the file, or when
  // the framing can no longer be trusted (reported to `skips` if
  // `wanted(ordinal)` holds for the lost position). For a wanted record,
  // checks the data CRC: a mismatch is reported as "bad_crc" and the record
  // skipped. Unwanted records come back with empty data and are not checked.
  absl::StatusOr<bool> Next(const std::function<bool(uint64_t)>& wanted,
                            SkipSink* skips, TfrecordRecord* out);

 private:
  BufferedFile file_;
  uint64_t max_records_ = 0;
  uint64_t ordinal_ = 0;
  bool done_ = true;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_TFRECORD_H_
