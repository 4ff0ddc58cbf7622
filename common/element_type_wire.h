// The one mapping between the public ElementType and the wire enum
// inputserve.v1.DType, used by the server's encoder and the client's parser.
// Stateless; thread-safe.
#ifndef INPUTSERVE_COMMON_ELEMENT_TYPE_WIRE_H_
#define INPUTSERVE_COMMON_ELEMENT_TYPE_WIRE_H_

#include <optional>

#include "inputserve/element_type.h"
#include "inputserve/v1/common.pb.h"

namespace inputserve {

constexpr v1::DType ElementTypeToProto(ElementType type) {
  switch (type) {
    case ElementType::kUint8:
      return v1::DTYPE_UINT8;
    case ElementType::kInt32:
      return v1::DTYPE_INT32;
    case ElementType::kInt64:
      return v1::DTYPE_INT64;
    case ElementType::kFloat32:
      return v1::DTYPE_FLOAT32;
    case ElementType::kFloat16:
      return v1::DTYPE_FLOAT16;
    case ElementType::kBfloat16:
      return v1::DTYPE_BFLOAT16;
  }
  return v1::DTYPE_UNSPECIFIED;
}

// nullopt for DTYPE_UNSPECIFIED and values this build does not know (a
// newer or hostile peer).
constexpr std::optional<ElementType> ElementTypeFromProto(int wire) {
  switch (wire) {
    case v1::DTYPE_UINT8:
      return ElementType::kUint8;
    case v1::DTYPE_INT32:
      return ElementType::kInt32;
    case v1::DTYPE_INT64:
      return ElementType::kInt64;
    case v1::DTYPE_FLOAT32:
      return ElementType::kFloat32;
    case v1::DTYPE_FLOAT16:
      return ElementType::kFloat16;
    case v1::DTYPE_BFLOAT16:
      return ElementType::kBfloat16;
    default:
      return std::nullopt;
  }
}

}  // namespace inputserve

#endif  // INPUTSERVE_COMMON_ELEMENT_TYPE_WIRE_H_
