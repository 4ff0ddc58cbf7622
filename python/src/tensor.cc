#include "python/src/tensor.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "dlpack/dlpack.h"
#include "inputserve/element_type.h"
#include "python/src/status_error.h"

namespace py = pybind11;

namespace inputserve::python {
namespace {

DLDataType DlpackDtype(ElementType dtype) {
  const uint8_t bits = static_cast<uint8_t>(8 * ElementSize(dtype));
  switch (dtype) {
    case ElementType::kUint8:
      return {kDLUInt, bits, 1};
    case ElementType::kInt32:
    case ElementType::kInt64:
      return {kDLInt, bits, 1};
    case ElementType::kFloat16:
    case ElementType::kFloat32:
      return {kDLFloat, bits, 1};
    case ElementType::kBfloat16:
      return {kDLBfloat, bits, 1};
  }
  return {kDLUInt, 8, 1};
}

// Owns what a DLManagedTensor points to; freed by its deleter.
struct DlpackOwner {
  std::shared_ptr<const Batch> batch;
  std::vector<int64_t> shape;
  DLManagedTensor managed;
};

void DeleteOwner(DLManagedTensor* managed) {
  delete static_cast<DlpackOwner*>(managed->manager_ctx);
}

// A capsule no consumer took ("dltensor" still its name) frees its tensor.
void DeleteUnusedCapsule(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, "dltensor")) return;
  auto* managed = static_cast<DLManagedTensor*>(
      PyCapsule_GetPointer(capsule, "dltensor"));
  if (managed != nullptr && managed->deleter != nullptr) {
    managed->deleter(managed);
  }
}

}  // namespace

const char* NumpyDtype(ElementType dtype) {
  switch (dtype) {
    case ElementType::kUint8:
      return "uint8";
    case ElementType::kInt32:
      return "int32";
    case ElementType::kInt64:
      return "int64";
    case ElementType::kFloat32:
      return "float32";
    case ElementType::kFloat16:
      return "float16";
    case ElementType::kBfloat16:
      return "uint16";
  }
  return "uint8";
}

TensorRef FindTensor(const std::shared_ptr<const Batch>& batch,
                     const std::string& name, int device) {
  const int devices = static_cast<int>(batch->devices.size());
  if (device < -1 || device >= devices) {
    throw StatusError(absl::InvalidArgumentError(absl::StrCat(
        "device ", device, " is out of range [0, ", devices, ")")));
  }
  const DeviceBatch& first = batch->devices[device < 0 ? 0 : device];
  const TensorView* view = first.Find(name);
  if (view == nullptr) {
    std::string names;
    for (const TensorView& t : first.tensors) {
      absl::StrAppend(&names, names.empty() ? "" : ", ", "'", t.name, "'");
    }
    throw StatusError(absl::InvalidArgumentError(absl::StrCat(
        "no tensor named '", name, "' in the batch (it has ", names, ")")));
  }
  TensorRef ref{batch,       view->name,   view->dtype, view->shape,
                view->data,  view->memory, -1};
  if (view->memory == MemoryKind::kCuda) ref.device = view->device;
  if (device >= 0 || devices == 1) return ref;
  // The whole batch: slices must follow each other in host memory (not so
  // in CUDA memory, nor for a short batch, whose slices start where a full
  // batch's would).
  size_t bytes = view->num_bytes;
  for (int d = 1; d < devices; ++d) {
    const TensorView* slice = batch->devices[d].Find(name);
    const bool follows = slice != nullptr &&
                         slice->memory == MemoryKind::kHost &&
                         view->memory == MemoryKind::kHost &&
                         static_cast<const uint8_t*>(slice->data) ==
                             static_cast<const uint8_t*>(view->data) + bytes;
    if (!follows) {
      throw StatusError(absl::InvalidArgumentError(absl::StrCat(
          "tensor '", name, "' is split over ", devices,
          " devices whose slices do not follow each other in host memory "
          "(CUDA memory, or a short last batch); use batch.devices[d]['",
          name, "']")));
    }
    bytes += slice->num_bytes;
    ref.shape[0] += slice->shape[0];
  }
  return ref;
}

py::array ToNumpy(const TensorRef& ref, py::object base) {
  if (ref.memory != MemoryKind::kHost) {
    throw StatusError(absl::FailedPreconditionError(absl::StrCat(
        "tensor '", ref.name, "' is in CUDA memory on device ", ref.device,
        ": NumPy cannot view it; use DLPack (torch.from_dlpack(tensor))")));
  }
  return py::array(py::dtype(NumpyDtype(ref.dtype)), ref.shape, ref.data,
                   std::move(base));
}

std::pair<int, int> DlpackDevice(const TensorRef& ref) {
  if (ref.memory == MemoryKind::kCuda) return {kDLCUDA, ref.device};
  return {kDLCPU, 0};
}

py::capsule ToDlpack(const TensorRef& ref) {
  auto* owner = new DlpackOwner{ref.batch, ref.shape, {}};
  DLTensor& t = owner->managed.dl_tensor;
  t.data = ref.data;
  const std::pair<int, int> device = DlpackDevice(ref);
  t.device = {static_cast<DLDeviceType>(device.first), device.second};
  t.ndim = static_cast<int32_t>(owner->shape.size());
  t.dtype = DlpackDtype(ref.dtype);
  t.shape = owner->shape.data();
  t.strides = nullptr;  // Compact row-major.
  t.byte_offset = 0;
  owner->managed.manager_ctx = owner;
  owner->managed.deleter = DeleteOwner;
  PyObject* capsule =
      PyCapsule_New(&owner->managed, "dltensor", DeleteUnusedCapsule);
  if (capsule == nullptr) {
    delete owner;
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::capsule>(capsule);
}

}  // namespace inputserve::python
