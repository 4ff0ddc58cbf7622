#include "client/batch_layout.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/element_type_wire.h"

namespace inputserve::client_internal {

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

absl::StatusOr<BatchLayout> BatchLayout::Create(
    int batch_size,
    const google::protobuf::RepeatedPtrField<v1::TensorSpec>& specs,
    int num_slices) {
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be positive, got ", batch_size));
  }
  if (num_slices <= 0 || batch_size % num_slices != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size ", batch_size, " does not split into ",
                     num_slices, " equal slices"));
  }
  if (specs.empty()) {
    return absl::InvalidArgumentError("dataset has no tensors");
  }
  BatchLayout layout;
  layout.batch_size_ = batch_size;
  layout.num_slices_ = num_slices;
  constexpr size_t kMax = std::numeric_limits<size_t>::max() / 2;
  for (const v1::TensorSpec& spec : specs) {
    TensorPlacement t;
    t.name = spec.name();
    const std::optional<ElementType> dtype = ElementTypeFromProto(spec.dtype());
    if (!dtype.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", spec.name(), "' has unknown dtype ", spec.dtype()));
    }
    t.dtype = *dtype;
    const size_t element = ElementSize(*dtype);
    t.shape.assign(spec.shape().begin(), spec.shape().end());
    if (t.shape.empty() || t.shape[0] != batch_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", spec.name(), "' has shape ", ShapeString(t.shape),
          "; its dim 0 must equal the batch size ", batch_size));
    }
    size_t bytes = element;
    for (int64_t dim : t.shape) {
      if (dim < 0 || (dim > 0 && bytes > kMax / static_cast<size_t>(dim))) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tensor '", spec.name(), "' has an invalid or too large shape ",
            ShapeString(t.shape)));
      }
      bytes *= static_cast<size_t>(dim);
    }
    t.num_bytes = bytes;
    t.slice_bytes = bytes / num_slices;
    t.slice_shape = t.shape;
    t.slice_shape[0] = batch_size / num_slices;
    t.offset = layout.payload_bytes_;
    t.packed_offset = layout.slice_payload_bytes_;
    if (layout.payload_bytes_ > kMax - bytes) {
      return absl::InvalidArgumentError("batch payload is too large");
    }
    layout.payload_bytes_ += bytes;
    layout.slice_payload_bytes_ += t.slice_bytes;
    layout.tensors_.push_back(std::move(t));
  }
  return layout;
}

absl::Status BatchLayout::CheckMatches(
    const google::protobuf::RepeatedPtrField<v1::TensorSpec>& specs) const {
  if (static_cast<size_t>(specs.size()) != tensors_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected ", tensors_.size(), " tensors, got ", specs.size()));
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const v1::TensorSpec& spec = specs[static_cast<int>(i)];
    const TensorPlacement& t = tensors_[i];
    std::vector<int64_t> shape(spec.shape().begin(), spec.shape().end());
    if (spec.name() != t.name || spec.dtype() != static_cast<int>(t.dtype) ||
        shape != t.shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor ", i, " is '", spec.name(), "' dtype ", spec.dtype(),
          " shape ", ShapeString(shape), ", expected '", t.name, "' dtype ",
          static_cast<int>(t.dtype), " shape ", ShapeString(t.shape)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> BatchLayout::CheckMatchesRows(
    const google::protobuf::RepeatedPtrField<v1::TensorSpec>& specs) const {
  if (specs.empty() || specs[0].shape().empty()) {
    return absl::InvalidArgumentError("the batch's tensors have no dim 0");
  }
  const int64_t rows = specs[0].shape(0);
  if (rows < 1 || rows > batch_size_) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", specs[0].name(), "' has ", rows,
                     " examples; expected 1 to ", batch_size_));
  }
  // Compare against the full shapes with this batch's dim 0 put back.
  google::protobuf::RepeatedPtrField<v1::TensorSpec> full = specs;
  for (v1::TensorSpec& spec : full) {
    if (spec.shape().empty() || spec.shape(0) != rows) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", spec.name(), "' has shape ",
                       ShapeString({spec.shape().begin(), spec.shape().end()}),
                       "; every tensor of the batch must have dim 0 = ", rows));
    }
    spec.set_shape(0, batch_size_);
  }
  if (absl::Status s = CheckMatches(full); !s.ok()) return s;
  return static_cast<int>(rows);
}

size_t BatchLayout::PayloadBytes(int rows) const {
  size_t bytes = 0;
  for (const TensorPlacement& t : tensors_) {
    bytes += t.num_bytes / batch_size_ * rows;
  }
  return bytes;
}

int BatchLayout::SliceRows(int rows, int slice) const {
  return rows / num_slices_ + (slice < rows % num_slices_ ? 1 : 0);
}

int BatchLayout::SliceStart(int rows, int slice) const {
  return slice * (rows / num_slices_) + std::min(slice, rows % num_slices_);
}

void BatchLayout::SpreadShortBatch(uint8_t* payload, int rows) const {
  if (rows >= batch_size_) return;
  // Every piece moves to an offset at or above its packed one, so moving
  // them last to first never overwrites a piece not yet moved.
  size_t packed = PayloadBytes(rows);
  for (size_t t = tensors_.size(); t-- > 0;) {
    const TensorPlacement& p = tensors_[t];
    const size_t example = p.num_bytes / batch_size_;
    packed -= example * rows;
    for (int d = num_slices_; d-- > 0;) {
      const size_t bytes = example * SliceRows(rows, d);
      if (bytes == 0) continue;
      std::memmove(payload + p.offset + d * p.slice_bytes,
                   payload + packed + example * SliceStart(rows, d), bytes);
    }
  }
}

}  // namespace inputserve::client_internal
