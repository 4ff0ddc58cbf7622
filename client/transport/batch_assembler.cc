#include "client/transport/batch_assembler.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace inputserve::client_internal {

void BatchAssembler::Reset() {
  in_batch_ = false;
  dst_ = nullptr;
  filled_ = 0;
}

absl::StatusOr<BatchAssembler::Progress> BatchAssembler::Consume(
    absl::Span<const ByteSpan> spans, const AcquireFn& acquire) {
  absl::StatusOr<ParsedChunk> parsed = ParseBatchChunk(spans);
  if (!parsed.ok()) {
    Reset();
    return parsed.status();
  }
  ParsedChunk& chunk = *parsed;
  last_chunk_bytes_ = 0;
  if (!in_batch_) {
    if (!chunk.has_header) {
      return absl::DataLossError(
          "first chunk of a batch has no header (stream out of sync)");
    }
    const v1::BatchHeader& h = chunk.header;
    if (h.mode() != v1::MODE_REAL && h.mode() != v1::MODE_SYNTHETIC) {
      return absl::DataLossError(
          absl::StrCat("batch ", h.sequence(), " has mode ", h.mode(),
                       "; expected MODE_REAL or MODE_SYNTHETIC"));
    }
    int rows = layout_->batch_size();
    absl::Status matches;
    if (allow_short_) {
      absl::StatusOr<int> n = layout_->CheckMatchesRows(h.tensors());
      if (n.ok()) rows = *n;
      matches = n.status();
    } else {
      matches = layout_->CheckMatches(h.tensors());
    }
    if (!matches.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "batch ", h.sequence(),
          " does not match the dataset description: ", matches.message()));
    }
    const size_t payload = layout_->PayloadBytes(rows);
    if (h.payload_bytes() != payload) {
      return absl::DataLossError(
          absl::StrCat("batch ", h.sequence(), " header says payload_bytes=",
                       h.payload_bytes(), " but its tensors need ", payload));
    }
    rows_ = rows;
    payload_ = payload;
    header_ = std::move(chunk.header);
    INPUTSERVE_ASSIGN_OR_RETURN(uint8_t * dst, acquire(header_));
    dst_ = dst;
    filled_ = 0;
    in_batch_ = true;
  } else if (chunk.has_header) {
    const size_t payload = payload_;
    const uint64_t sequence = header_.sequence();
    const size_t filled = filled_;
    Reset();
    return absl::DataLossError(
        absl::StrCat("a new batch header arrived while batch ", sequence,
                     " was incomplete (", filled, " of ", payload, " bytes)"));
  }
  const size_t payload = payload_;
  if (chunk.data_size > payload - filled_) {
    const size_t filled = filled_;
    Reset();
    return absl::DataLossError(absl::StrCat(
        "batch ", header_.sequence(), " overflows: ", filled, " + ",
        chunk.data_size, " bytes exceed payload_bytes ", payload));
  }
  if (chunk.data_size > 0) {
    CopyFromSpans(spans, chunk.data_start, chunk.data_size, dst_ + filled_);
    filled_ += chunk.data_size;
    last_chunk_bytes_ = chunk.data_size;
  }
  if (!chunk.last) return Progress::kIncomplete;
  if (filled_ != payload) {
    const size_t filled = filled_;
    Reset();
    return absl::DataLossError(absl::StrCat("batch ", header_.sequence(),
                                            " ended after ", filled, " of ",
                                            payload, " payload bytes"));
  }
  in_batch_ = false;
  dst_ = nullptr;
  return Progress::kComplete;
}

}  // namespace inputserve::client_internal
