// CudaBackend: per-device slices in GPU memory. Each device gets, once, a
// buffer for the current batch's slice and (in synthetic mode) a cache
// buffer; received batches sit in pinned host memory so the copies run
// asynchronously, one CUDA stream per device, all devices in parallel.
// Built only with INPUTSERVE_WITH_CUDA. Not thread-safe (see DeviceBackend).
#ifndef INPUTSERVE_CLIENT_DEVICE_CUDA_BACKEND_H_
#define INPUTSERVE_CLIENT_DEVICE_CUDA_BACKEND_H_

#include <memory>
#include <vector>

#include "client/device/backend.h"

namespace inputserve::client_internal {

class CudaBackend final : public DeviceBackend {
 public:
  // FAILED_PRECONDITION when fewer than num_devices GPUs are visible.
  static absl::StatusOr<std::unique_ptr<CudaBackend>> Create(
      int num_devices, const BatchLayout* layout);
  ~CudaBackend() override;

  MemoryKind memory_kind() const override { return MemoryKind::kCuda; }
  absl::StatusOr<void*> AllocateHost(size_t bytes) override;
  void FreeHost(void* ptr) override;
  absl::StatusOr<DeviceLease> Place(const uint8_t* batch,
                                    DevicePointers* out) override;
  absl::StatusOr<DeviceLease> BuildCache(const uint8_t* batch,
                                         DevicePointers* out) override;

 private:
  explicit CudaBackend(const BatchLayout* layout) : layout_(layout) {}
  // Copies slice `slice_of(d)` of every tensor into `dst[d]` on all devices.
  absl::Status CopySlices(const uint8_t* batch, bool slice_zero_only,
                          const std::vector<void*>& dst, DevicePointers* out);

  const BatchLayout* layout_;
  std::vector<void*> streams_;  // One per device.
  std::vector<void*> current_;  // Slice buffer per device.
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_DEVICE_CUDA_BACKEND_H_
