// PipelineBatch: one immutable batch of tensors in one contiguous buffer.
// Built once by the pipeline, then shared read-only (by shared_ptr) between the
// prefetch queue, the synthetic cache and every stream that sends it.
#ifndef INPUTSERVE_SERVER_PIPELINE_BATCH_H_
#define INPUTSERVE_SERVER_PIPELINE_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace inputserve {

// Element types; the values equal the wire enum inputserve.v1.DType.
enum class DType : int {
  kUint8 = 1,
  kInt32 = 2,
  kInt64 = 3,
  kFloat32 = 4,
  kFloat16 = 5,
  kBfloat16 = 6,
};

size_t DTypeSize(DType dtype);

// Name, element type and shape of one tensor; shape[0] is the batch size.
struct TensorLayout {
  std::string name;
  DType dtype = DType::kUint8;
  std::vector<int64_t> shape;

  int64_t num_elements() const;
  size_t num_bytes() const { return num_elements() * DTypeSize(dtype); }
};

// A 64-byte aligned, fixed-size byte buffer. Written by one builder, then
// published as shared_ptr<const PayloadBuffer> and never written again.
class PayloadBuffer {
 public:
  static std::shared_ptr<PayloadBuffer> Allocate(size_t size);
  ~PayloadBuffer();
  PayloadBuffer(const PayloadBuffer&) = delete;
  PayloadBuffer& operator=(const PayloadBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  PayloadBuffer(uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t* data_;
  size_t size_;
};

// One batch as produced by the pipeline. Tensors are concatenated in
// `tensors` order in `payload`.
struct PipelineBatch {
  uint64_t sequence = 0;  // Position in the pipeline's output, 0-based.
  uint64_t epoch = 0;     // Epoch of the batch's first example.
  std::vector<TensorLayout> tensors;
  std::shared_ptr<const PayloadBuffer> payload;
};

using BatchPtr = std::shared_ptr<const PipelineBatch>;

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_PIPELINE_BATCH_H_
