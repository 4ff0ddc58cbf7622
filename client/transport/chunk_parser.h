// Parses one serialized inputserve.v1.BatchChunk straight from the slices of
// a received grpc::ByteBuffer, so the `data` field can be copied once, into
// its final place, instead of into an intermediate std::string first.
// Stateless functions; thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_CHUNK_PARSER_H_
#define INPUTSERVE_CLIENT_TRANSPORT_CHUNK_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "inputserve/v1/common.pb.h"

namespace inputserve::client_internal {

// One contiguous piece of a serialized message (a grpc::Slice's bytes).
struct ByteSpan {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

// A position inside a sequence of spans.
struct SpanPosition {
  size_t span = 0;
  size_t offset = 0;
};

struct ParsedChunk {
  bool has_header = false;
  v1::BatchHeader header;
  bool has_data = false;
  SpanPosition data_start;  // Where the data bytes begin.
  size_t data_size = 0;
  bool last = false;
};

// Parses the protobuf wire format of a BatchChunk. Fields may come in any
// order; unknown fields are skipped. DATA_LOSS on truncated or malformed
// bytes, on a header that does not parse, and on a repeated data field (our
// servers never send one, and "last one wins" would mean copying twice).
absl::StatusOr<ParsedChunk> ParseBatchChunk(absl::Span<const ByteSpan> spans);

// Copies `size` bytes starting at `from` into `dst`, crossing spans.
void CopyFromSpans(absl::Span<const ByteSpan> spans, SpanPosition from,
                   size_t size, uint8_t* dst);

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_CHUNK_PARSER_H_
