#include "server/pipeline/batch.h"

#include <cstdlib>
#include <new>
#include <utility>

namespace inputserve {

int64_t TensorLayout::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::unique_ptr<PayloadBuffer> PayloadBuffer::New(size_t size) {
  constexpr size_t kAlign = 64;
  const size_t rounded = ((size + kAlign - 1) / kAlign) * kAlign;
  void* p = std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded);
  if (p == nullptr) throw std::bad_alloc();
  return std::unique_ptr<PayloadBuffer>(
      new PayloadBuffer(static_cast<uint8_t*>(p), size));
}

std::shared_ptr<PayloadPool> PayloadPool::Create(size_t buffer_bytes,
                                                 size_t max_idle) {
  return std::shared_ptr<PayloadPool>(new PayloadPool(buffer_bytes, max_idle));
}

std::shared_ptr<PayloadBuffer> PayloadPool::Acquire() {
  std::unique_ptr<PayloadBuffer> buffer;
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      buffer = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++allocations_;
    }
  }
  if (buffer == nullptr) buffer = PayloadBuffer::New(buffer_bytes_);
  return std::shared_ptr<PayloadBuffer>(
      buffer.release(),
      [pool = shared_from_this()](PayloadBuffer* b) { pool->Release(b); });
}

void PayloadPool::Release(PayloadBuffer* buffer) {
  std::unique_ptr<PayloadBuffer> owned(buffer);
  absl::MutexLock lock(&mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(owned));
}

uint64_t PayloadPool::allocations() const {
  absl::MutexLock lock(&mu_);
  return allocations_;
}

size_t PayloadPool::idle() const {
  absl::MutexLock lock(&mu_);
  return idle_.size();
}

PayloadBuffer::~PayloadBuffer() { std::free(data_); }

}  // namespace inputserve
