// HostBackend: "devices" that are slices of host memory. Place() returns
// views into the received buffer; the synthetic cache is one payload-shaped
// buffer holding slice 0 in every device's place, owned by its lease. Not thread-safe (see
// DeviceBackend).
#ifndef INPUTSERVE_CLIENT_DEVICE_HOST_BACKEND_H_
#define INPUTSERVE_CLIENT_DEVICE_HOST_BACKEND_H_

#include "client/device/backend.h"

namespace inputserve::client_internal {

class HostBackend final : public DeviceBackend {
 public:
  explicit HostBackend(const BatchLayout* layout) : layout_(layout) {}

  MemoryKind memory_kind() const override { return MemoryKind::kHost; }
  absl::StatusOr<void*> AllocateHost(size_t bytes) override;
  void FreeHost(void* ptr) override;
  absl::StatusOr<DeviceLease> Place(const uint8_t* batch,
                                    DevicePointers* out) override;
  absl::StatusOr<DeviceLease> BuildCache(const uint8_t* batch,
                                         DevicePointers* out) override;

 private:
  const BatchLayout* layout_;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_DEVICE_HOST_BACKEND_H_
