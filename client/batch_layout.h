// BatchLayout: where each tensor of a global batch lives in the payload and
// how it splits into equal per-device slices along dim 0. Built once from the
// servers' DatasetInfo; immutable afterwards and safe to share across threads.
#ifndef INPUTSERVE_CLIENT_BATCH_LAYOUT_H_
#define INPUTSERVE_CLIENT_BATCH_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "inputserve/batch.h"
#include "inputserve/v1/common.pb.h"

namespace inputserve::client_internal {

struct TensorPlacement {
  std::string name;
  ElementType dtype = ElementType::kUint8;
  std::vector<int64_t> shape;        // Global shape; shape[0] = batch size.
  std::vector<int64_t> slice_shape;  // shape with dim 0 divided by slices.
  size_t offset = 0;                 // Byte offset in the global payload.
  size_t num_bytes = 0;              // Bytes of the whole tensor.
  size_t slice_bytes = 0;            // Bytes of one device's slice.
  size_t packed_offset = 0;          // Offset in a packed per-device buffer.
};

class BatchLayout {
 public:
  // Validates the specs (known dtypes, non-negative dims, shape[0] equal to
  // batch_size, no overflow) and that `num_slices` divides the batch size.
  static absl::StatusOr<BatchLayout> Create(
      int batch_size,
      const google::protobuf::RepeatedPtrField<v1::TensorSpec>& specs,
      int num_slices);

  int batch_size() const { return batch_size_; }
  int num_slices() const { return num_slices_; }
  size_t payload_bytes() const { return payload_bytes_; }
  // Bytes of one device's share: every tensor's slice, packed in order.
  size_t slice_payload_bytes() const { return slice_payload_bytes_; }
  const std::vector<TensorPlacement>& tensors() const { return tensors_; }

  // OK when `specs` equal the layout's tensors exactly (names, dtypes,
  // shapes, order); otherwise a message naming the first difference.
  absl::Status CheckMatches(
      const google::protobuf::RepeatedPtrField<v1::TensorSpec>& specs) const;
  // As CheckMatches, but every tensor's dim 0 may be any n in
  // [1, batch_size] (the same for all tensors): a short batch. Returns n.
  absl::StatusOr<int> CheckMatchesRows(
      const google::protobuf::RepeatedPtrField<v1::TensorSpec>& specs) const;

  // Short batches of n examples. On the wire their tensors are packed one
  // after the other with dim 0 = n: PayloadBytes(n) bytes. Slice d gets
  // SliceRows(n, d) examples, the first n % slices one more than the rest,
  // starting at example SliceStart(n, d).
  size_t PayloadBytes(int rows) const;
  int SliceRows(int rows, int slice) const;
  int SliceStart(int rows, int slice) const;
  // Moves a packed payload of `rows` examples (in place, in a buffer of
  // payload_bytes()) so slice d of tensor t starts where a full batch's
  // would (offset + d * slice_bytes): device placement then works unchanged.
  void SpreadShortBatch(uint8_t* payload, int rows) const;

 private:
  BatchLayout() = default;
  int batch_size_ = 0;
  int num_slices_ = 1;
  size_t payload_bytes_ = 0;
  size_t slice_payload_bytes_ = 0;
  std::vector<TensorPlacement> tensors_;
};

// "[8,32,32,3]" for messages.
std::string ShapeString(const std::vector<int64_t>& shape);

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_BATCH_LAYOUT_H_
