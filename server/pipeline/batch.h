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

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "inputserve/element_type.h"

namespace inputserve {

// Name, element type and shape of one tensor; shape[0] is the batch size.
struct TensorLayout {
  std::string name;
  ElementType dtype = ElementType::kUint8;
  std::vector<int64_t> shape;

  int64_t num_elements() const;
  size_t num_bytes() const { return num_elements() * ElementSize(dtype); }
};

// A 64-byte aligned, fixed-size byte buffer. Written by one builder, then
// published as shared_ptr<const PayloadBuffer> and never written again.
class PayloadBuffer {
 public:
  static std::unique_ptr<PayloadBuffer> New(size_t size);
  static std::shared_ptr<PayloadBuffer> Allocate(size_t size) { return New(size); }
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
  // Deterministic order: the rank's step and the batch's index in its
  // shard's epoch (see common/data_order.h).
  bool deterministic = false;
  uint64_t step = 0;
  uint64_t batch_index = 0;
  std::vector<TensorLayout> tensors;
  std::shared_ptr<const PayloadBuffer> payload;
};

using BatchPtr = std::shared_ptr<const PipelineBatch>;

// Recycles payload buffers of one size. A batch of 256 ImageNet images is
// 38.5 MB: glibc serves that with a fresh mmap, and every batch paid for
// page faults and zeroing of new pages. Buffers handed out return here when
// their last reference (queue, stream, gRPC slice) drops; the pool keeps up
// to `max_idle` of them. Thread-safe; buffers may outlive the pipeline (the
// deleter keeps the pool alive).
class PayloadPool : public std::enable_shared_from_this<PayloadPool> {
 public:
  static std::shared_ptr<PayloadPool> Create(size_t buffer_bytes,
                                             size_t max_idle);
  std::shared_ptr<PayloadBuffer> Acquire();
  // Buffers allocated fresh so far (not taken from the idle list).
  uint64_t allocations() const;
  size_t idle() const;

 private:
  PayloadPool(size_t buffer_bytes, size_t max_idle)
      : buffer_bytes_(buffer_bytes), max_idle_(max_idle) {}
  void Release(PayloadBuffer* buffer);

  const size_t buffer_bytes_;
  const size_t max_idle_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<PayloadBuffer>> idle_ ABSL_GUARDED_BY(mu_);
  uint64_t allocations_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_PIPELINE_BATCH_H_
