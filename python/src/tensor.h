// Zero-copy views of a batch's tensors for Python: NumPy arrays over host
// memory, and Tensor objects that export any tensor (host or CUDA) through
// DLPack. Every view holds the C++ batch handle, so the memory returns to
// the client's pool only when the last view is gone. Called with the GIL.
#ifndef INPUTSERVE_PYTHON_SRC_TENSOR_H_
#define INPUTSERVE_PYTHON_SRC_TENSOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inputserve/batch.h"
#include "pybind11/numpy.h"
#include "pybind11/pybind11.h"

namespace inputserve::python {

// One tensor of one batch: a device's slice, or the whole batch when the
// slices are contiguous in host memory.
struct TensorRef {
  std::shared_ptr<const Batch> batch;  // Keeps `data` alive.
  std::string name;
  ElementType dtype = ElementType::kUint8;
  std::vector<int64_t> shape;
  void* data = nullptr;
  MemoryKind memory = MemoryKind::kHost;
  int device = -1;  // CUDA ordinal; -1 for host memory.
};

// The tensor `name` of device `device`, or of the whole batch when
// `device` is -1. INVALID_ARGUMENT (as StatusError) for an unknown name or
// device, or a whole-batch view of slices that are not contiguous host
// memory (CUDA devices).
TensorRef FindTensor(const std::shared_ptr<const Batch>& batch,
                     const std::string& name, int device);

// A NumPy array viewing `ref` (host memory only); `base` keeps it alive.
pybind11::array ToNumpy(const TensorRef& ref, pybind11::object base);

// Name of the NumPy dtype of an element type ("uint8", ...). bfloat16,
// which NumPy lacks, is viewed as "uint16".
const char* NumpyDtype(ElementType dtype);

// Exports `ref` as a DLPack capsule ("dltensor") whose deleter drops the
// batch handle; safe to call from any thread, without the GIL.
pybind11::capsule ToDlpack(const TensorRef& ref);

// (device_type, device_id) as DLPack's __dlpack_device__ returns it.
std::pair<int, int> DlpackDevice(const TensorRef& ref);

}  // namespace inputserve::python

#endif  // INPUTSERVE_PYTHON_SRC_TENSOR_H_
