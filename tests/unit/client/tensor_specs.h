// The wire description of an image + label batch that client unit tests
// build layouts from. Stateless.
#ifndef INPUTSERVE_TESTS_UNIT_CLIENT_TENSOR_SPECS_H_
#define INPUTSERVE_TESTS_UNIT_CLIENT_TENSOR_SPECS_H_

#include <cstdint>

#include "inputserve/v1/common.pb.h"

namespace inputserve::testing {

// "image" uint8 [batch, side, side, 3] and "label" int32 [batch].
inline google::protobuf::RepeatedPtrField<v1::TensorSpec> ImageLabelSpecs(
    int batch, int side) {
  google::protobuf::RepeatedPtrField<v1::TensorSpec> specs;
  v1::TensorSpec* image = specs.Add();
  image->set_name("image");
  image->set_dtype(v1::DTYPE_UINT8);
  for (int64_t d : {int64_t{batch}, int64_t{side}, int64_t{side}, int64_t{3}}) {
    image->add_shape(d);
  }
  v1::TensorSpec* label = specs.Add();
  label->set_name("label");
  label->set_dtype(v1::DTYPE_INT32);
  label->add_shape(batch);
  return specs;
}

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_UNIT_CLIENT_TENSOR_SPECS_H_
