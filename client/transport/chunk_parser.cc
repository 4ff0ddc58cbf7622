#include "client/transport/chunk_parser.h"

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/transport/stream_copy.h"

namespace inputserve::client_internal {
namespace {

// Reads protobuf wire primitives from a span sequence.
class SpanReader {
 public:
  explicit SpanReader(absl::Span<const ByteSpan> spans) : spans_(spans) {
    for (const ByteSpan& s : spans_) total_ += s.size;
    SkipEmpty();
  }

  bool AtEnd() const { return pos_.span >= spans_.size(); }
  size_t remaining() const { return total_ - consumed_; }
  SpanPosition position() const { return pos_; }
  size_t consumed() const { return consumed_; }

  bool ReadByte(uint8_t* out) {
    if (AtEnd()) return false;
    *out = spans_[pos_.span].data[pos_.offset];
    Advance(1);
    return true;
  }

  bool ReadVarint(uint64_t* out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte;
      if (!ReadByte(&byte)) return false;
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *out = value;
        return true;
      }
    }
    return false;  // More than 10 bytes: not a varint.
  }

  // Moves forward `n` bytes; false when fewer remain.
  bool Skip(size_t n) {
    while (n > 0) {
      if (AtEnd()) return false;
      const size_t here = spans_[pos_.span].size - pos_.offset;
      const size_t step = n < here ? n : here;
      Advance(step);
      n -= step;
    }
    return true;
  }

  bool ReadString(size_t n, std::string* out) {
    out->clear();
    // The length came off the wire: a hostile peer's 4 GiB (or 2^63) must be
    // refused before it becomes an allocation (found by chunk_fuzz).
    if (n > remaining()) return false;
    out->reserve(n);
    while (n > 0) {
      if (AtEnd()) return false;
      const ByteSpan& s = spans_[pos_.span];
      const size_t here = s.size - pos_.offset;
      const size_t step = n < here ? n : here;
      out->append(reinterpret_cast<const char*>(s.data + pos_.offset), step);
      Advance(step);
      n -= step;
    }
    return true;
  }

 private:
  void Advance(size_t n) {
    pos_.offset += n;
    consumed_ += n;
    SkipEmpty();
  }
  void SkipEmpty() {
    while (pos_.span < spans_.size() && pos_.offset >= spans_[pos_.span].size) {
      ++pos_.span;
      pos_.offset = 0;
    }
  }

  absl::Span<const ByteSpan> spans_;
  size_t total_ = 0;
  SpanPosition pos_;
  size_t consumed_ = 0;
};

absl::Status Malformed(const std::string& what, size_t at) {
  return absl::DataLossError(
      absl::StrCat("malformed BatchChunk at byte ", at, ": ", what));
}

}  // namespace

absl::StatusOr<ParsedChunk> ParseBatchChunk(absl::Span<const ByteSpan> spans) {
  ParsedChunk chunk;
  SpanReader reader(spans);
  std::string header_bytes;
  while (!reader.AtEnd()) {
    const size_t at = reader.consumed();
    uint64_t tag;
    if (!reader.ReadVarint(&tag)) return Malformed("truncated field tag", at);
    const uint64_t field = tag >> 3;
    const int wire_type = static_cast<int>(tag & 7);
    if (field == 0) return Malformed("field number 0", at);
    switch (wire_type) {
      case 0: {  // varint
        uint64_t value;
        if (!reader.ReadVarint(&value)) {
          return Malformed("truncated varint", at);
        }
        if (field == 3) chunk.last = value != 0;
        break;
      }
      case 1:  // fixed64
        if (!reader.Skip(8)) return Malformed("truncated fixed64", at);
        break;
      case 5:  // fixed32
        if (!reader.Skip(4)) return Malformed("truncated fixed32", at);
        break;
      case 2: {  // length-delimited
        uint64_t length;
        if (!reader.ReadVarint(&length)) {
          return Malformed("truncated length", at);
        }
        if (field == 1) {
          // Protobuf merges repeated occurrences of a message field; keep
          // that meaning by concatenating the encodings.
          std::string more;
          if (!reader.ReadString(length, &more)) {
            return Malformed("header runs past the end of the message", at);
          }
          header_bytes += more;
          chunk.has_header = true;
        } else if (field == 2) {
          if (chunk.has_data) return Malformed("data field repeated", at);
          chunk.has_data = true;
          chunk.data_start = reader.position();
          chunk.data_size = length;
          if (!reader.Skip(length)) {
            return Malformed(absl::StrCat("data field of ", length,
                                          " bytes runs past the end"),
                             at);
          }
        } else if (!reader.Skip(length)) {
          return Malformed("length-delimited field runs past the end", at);
        }
        break;
      }
      default:
        return Malformed(absl::StrCat("field ", field, " has wire type ",
                                      wire_type, ", which is not supported"),
                         at);
    }
    if ((field == 1 || field == 2) && wire_type != 2) {
      return Malformed(absl::StrCat("field ", field, " has wire type ",
                                    wire_type, ", expected 2"),
                       at);
    }
    if (field == 3 && wire_type != 0) {
      return Malformed(
          absl::StrCat("field 3 has wire type ", wire_type, ", expected 0"),
          at);
    }
  }
  if (chunk.has_header && !chunk.header.ParseFromString(header_bytes)) {
    return absl::DataLossError("malformed BatchChunk: header does not parse");
  }
  return chunk;
}

void CopyFromSpans(absl::Span<const ByteSpan> spans, SpanPosition from,
                   size_t size, uint8_t* dst) {
  // Chunks of 1 MiB or more belong to batches larger than the caches keep
  // until they are read: write around the cache.
  const bool stream = size >= kStreamCopyChunkBytes;
  size_t span = from.span;
  size_t offset = from.offset;
  while (size > 0 && span < spans.size()) {
    const size_t here = spans[span].size - offset;
    const size_t step = size < here ? size : here;
    if (stream) {
      StreamCopy(dst, spans[span].data + offset, step);
    } else {
      std::memcpy(dst, spans[span].data + offset, step);
    }
    dst += step;
    size -= step;
    ++span;
    offset = 0;
  }
}

}  // namespace inputserve::client_internal
