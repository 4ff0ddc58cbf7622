// HostBackend: "devices" that are slices of host memory. Place() returns
// views into the received buffer; the synthetic cache is one host copy of
// slice 0 per device. Not thread-safe (see DeviceBackend).
#ifndef INPUTSERVE_CLIENT_DEVICE_HOST_BACKEND_H_
#define INPUTSERVE_CLIENT_DEVICE_HOST_BACKEND_H_

#include <memory>
#include <vector>

#include "client/device/backend.h"

namespace inputserve::client_internal {

class HostBackend final : public DeviceBackend {
 public:
  explicit HostBackend(const BatchLayout* layout) : layout_(layout) {}

  MemoryKind memory_kind() const override { return MemoryKind::kHost; }
  absl::StatusOr<void*> AllocateHost(size_t bytes) override;
  void FreeHost(void* ptr) override;
  absl::Status Place(const uint8_t* batch, DevicePointers* out) override;
  absl::Status BuildCache(const uint8_t* batch, DevicePointers* out) override;
  void FreeCache() override { cache_.clear(); }

 private:
  const BatchLayout* layout_;
  // One packed buffer per device: every tensor's slice 0, in order.
  std::vector<std::unique_ptr<uint8_t[]>> cache_;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_DEVICE_HOST_BACKEND_H_
