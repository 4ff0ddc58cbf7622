#include "server/pipeline/batch.h"

#include <cstdlib>
#include <new>

namespace inputserve {

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kUint8:
      return 1;
    case DType::kInt32:
    case DType::kFloat32:
      return 4;
    case DType::kInt64:
      return 8;
    case DType::kFloat16:
    case DType::kBfloat16:
      return 2;
  }
  return 0;
}

int64_t TensorLayout::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::shared_ptr<PayloadBuffer> PayloadBuffer::Allocate(size_t size) {
  constexpr size_t kAlign = 64;
  const size_t rounded = ((size + kAlign - 1) / kAlign) * kAlign;
  void* p = std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded);
  if (p == nullptr) throw std::bad_alloc();
  return std::shared_ptr<PayloadBuffer>(
      new PayloadBuffer(static_cast<uint8_t*>(p), size));
}

PayloadBuffer::~PayloadBuffer() { std::free(data_); }

}  // namespace inputserve
