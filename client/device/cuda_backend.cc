#include "client/device/cuda_backend.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/device/cuda_runtime.h"

namespace inputserve::client_internal {
namespace {

absl::Status CudaError(const std::string& err, int device) {
  if (err.empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("CUDA device ", device, ": ", err));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CudaBackend>> CudaBackend::Create(
    int num_devices, const BatchLayout* layout) {
  const int available = cuda::DeviceCount();
  if (available < num_devices) {
    return absl::FailedPreconditionError(
        absl::StrCat("device_kind kCuda needs ", num_devices, " GPUs but ",
                     available, " are visible"));
  }
  std::unique_ptr<CudaBackend> backend(new CudaBackend(layout));
  const size_t bytes = layout->slice_payload_bytes() + 1;
  for (int d = 0; d < num_devices; ++d) {
    void* stream = nullptr;
    if (absl::Status s = CudaError(cuda::CreateStream(d, &stream), d);
        !s.ok()) {
      return s;
    }
    backend->streams_.push_back(stream);
    void* buffer = nullptr;
    if (absl::Status s = CudaError(cuda::AllocDevice(d, bytes, &buffer), d);
        !s.ok()) {
      return s;
    }
    backend->current_.push_back(buffer);
  }
  return backend;
}

CudaBackend::~CudaBackend() {
  for (size_t d = 0; d < current_.size(); ++d) {
    cuda::FreeDevice(static_cast<int>(d), current_[d]);
  }
  for (size_t d = 0; d < streams_.size(); ++d) {
    cuda::DestroyStream(static_cast<int>(d), streams_[d]);
  }
}

absl::StatusOr<void*> CudaBackend::AllocateHost(size_t bytes) {
  void* ptr = nullptr;
  std::string err = cuda::AllocPinned(bytes, &ptr);
  if (!err.empty()) return absl::ResourceExhaustedError(err);
  return ptr;
}

void CudaBackend::FreeHost(void* ptr) { cuda::FreePinned(ptr); }

absl::Status CudaBackend::CopySlices(const uint8_t* batch, bool slice_zero_only,
                                     const std::vector<void*>& dst,
                                     DevicePointers* out) {
  const auto& tensors = layout_->tensors();
  std::vector<cuda::Copy> copies(tensors.size());
  for (size_t d = 0; d < dst.size(); ++d) {
    const size_t slice = slice_zero_only ? 0 : d;
    for (size_t t = 0; t < tensors.size(); ++t) {
      void* to = static_cast<uint8_t*>(dst[d]) + tensors[t].packed_offset;
      copies[t] = {to,
                   batch + tensors[t].offset + slice * tensors[t].slice_bytes,
                   tensors[t].slice_bytes};
      (*out)[d][t] = to;
    }
    const int device = static_cast<int>(d);
    if (absl::Status s = CudaError(
            cuda::CopyAsync(device, streams_[d], copies.data(), copies.size()),
            device);
        !s.ok()) {
      return s;
    }
  }
  // All devices copy in parallel; wait for every one.
  for (size_t d = 0; d < dst.size(); ++d) {
    const int device = static_cast<int>(d);
    if (absl::Status s =
            CudaError(cuda::Synchronize(device, streams_[d]), device);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DeviceLease> CudaBackend::Place(const uint8_t* batch,
                                               DevicePointers* out) {
  if (absl::Status s =
          CopySlices(batch, /*slice_zero_only=*/false, current_, out);
      !s.ok()) {
    return s;
  }
  return DeviceLease();
}

absl::StatusOr<DeviceLease> CudaBackend::BuildCache(const uint8_t* batch,
                                                    DevicePointers* out) {
  // The lease owns one buffer per device and frees them when dropped.
  struct Cache {
    std::vector<void*> buffers;
    ~Cache() {
      for (size_t d = 0; d < buffers.size(); ++d) {
        cuda::FreeDevice(static_cast<int>(d), buffers[d]);
      }
    }
  };
  auto cache = std::make_shared<Cache>();
  const size_t bytes = layout_->slice_payload_bytes() + 1;
  for (size_t d = 0; d < current_.size(); ++d) {
    void* buffer = nullptr;
    const int device = static_cast<int>(d);
    if (absl::Status s =
            CudaError(cuda::AllocDevice(device, bytes, &buffer), device);
        !s.ok()) {
      return s;
    }
    cache->buffers.push_back(buffer);
  }
  if (absl::Status s =
          CopySlices(batch, /*slice_zero_only=*/true, cache->buffers, out);
      !s.ok()) {
    return s;
  }
  return DeviceLease(std::move(cache));
}

}  // namespace inputserve::client_internal
