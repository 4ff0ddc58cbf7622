// ElementType: the element type of a tensor, shared by the server's
// pipeline and the client API. The wire enum inputserve.v1.DType carries it;
// common/element_type_wire.h is the one mapping between the two. Plain
// values; thread-safe.
#ifndef INPUTSERVE_CLIENT_ELEMENT_TYPE_H_
#define INPUTSERVE_CLIENT_ELEMENT_TYPE_H_

#include <cstddef>

namespace inputserve {

enum class ElementType : int {
  kUint8 = 1,
  kInt32 = 2,
  kInt64 = 3,
  kFloat32 = 4,
  kFloat16 = 5,
  kBfloat16 = 6,
};

// Bytes per element.
constexpr size_t ElementSize(ElementType type) {
  switch (type) {
    case ElementType::kUint8:
      return 1;
    case ElementType::kFloat16:
    case ElementType::kBfloat16:
      return 2;
    case ElementType::kInt32:
    case ElementType::kFloat32:
      return 4;
    case ElementType::kInt64:
      return 8;
  }
  return 0;
}

}  // namespace inputserve

#endif  // INPUTSERVE_CLIENT_ELEMENT_TYPE_H_
