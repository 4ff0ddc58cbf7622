// BatchAssembler: turns the chunk sequence of one stream into whole batches,
// copying each chunk's data straight into a destination buffer that the
// caller supplies when a batch begins. Enforces the framing rules (header on
// the first chunk only, payload size equal to the layout, no overflow, last
// chunk completes exactly). One per stream; not thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_BATCH_ASSEMBLER_H_
#define INPUTSERVE_CLIENT_TRANSPORT_BATCH_ASSEMBLER_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/batch_layout.h"
#include "client/transport/chunk_parser.h"
#include "inputserve/v1/common.pb.h"

namespace inputserve::client_internal {

class BatchAssembler {
 public:
  enum class Progress { kIncomplete, kComplete };
  // Called once per batch, after its header passed validation: returns the
  // buffer (layout.payload_bytes() long) to assemble into, or an error
  // (e.g. CANCELLED when no buffer will come) that Consume returns as is.
  using AcquireFn =
      std::function<absl::StatusOr<uint8_t*>(const v1::BatchHeader& header)>;

  // With `allow_short`, a batch may hold fewer examples than the layout's
  // batch size (a deterministic stream's short last batch of an epoch): its
  // tensors arrive packed with dim 0 = n (see BatchLayout::PayloadBytes).
  explicit BatchAssembler(const BatchLayout* layout, bool allow_short = false)
      : layout_(layout), allow_short_(allow_short) {}

  // Feeds one serialized BatchChunk. DATA_LOSS (or INVALID_ARGUMENT for a
  // header that disagrees with the layout) on any violation; the assembler
  // is then reset and the caller should drop the stream.
  absl::StatusOr<Progress> Consume(absl::Span<const ByteSpan> spans,
                                   const AcquireFn& acquire);

  // The header of the batch being (or just) assembled.
  const v1::BatchHeader& header() const { return header_; }
  bool in_batch() const { return in_batch_; }
  // Examples in the current (or just completed) batch.
  int rows() const { return rows_; }
  // Payload bytes of the current (or just completed) batch received so far.
  size_t filled() const { return filled_; }
  // Payload bytes carried by the chunk last consumed without error.
  size_t last_chunk_bytes() const { return last_chunk_bytes_; }
  // Forgets a partial batch (after a stream error).
  void Reset();

 private:
  const BatchLayout* layout_;
  const bool allow_short_;
  bool in_batch_ = false;
  int rows_ = 0;
  size_t payload_ = 0;  // Payload bytes of the current batch.
  v1::BatchHeader header_;
  uint8_t* dst_ = nullptr;
  size_t filled_ = 0;
  size_t last_chunk_bytes_ = 0;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_BATCH_ASSEMBLER_H_
