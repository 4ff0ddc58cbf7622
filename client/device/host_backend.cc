#include "client/device/host_backend.h"

#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace inputserve::client_internal {

absl::StatusOr<void*> HostBackend::AllocateHost(size_t bytes) {
  // 64-byte alignment keeps every tensor start usable for vector loads.
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* ptr = std::aligned_alloc(64, rounded);
  if (ptr == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of host memory allocating ", bytes, " bytes"));
  }
  return ptr;
}

void HostBackend::FreeHost(void* ptr) { std::free(ptr); }

absl::StatusOr<DeviceLease> HostBackend::Place(const uint8_t* batch,
                                               DevicePointers* out) {
  const auto& tensors = layout_->tensors();
  for (int d = 0; d < layout_->num_slices(); ++d) {
    for (size_t t = 0; t < tensors.size(); ++t) {
      (*out)[d][t] = const_cast<uint8_t*>(batch) + tensors[t].offset +
                     d * tensors[t].slice_bytes;
    }
  }
  return DeviceLease();  // Views into `batch`: nothing of ours to keep.
}

absl::StatusOr<DeviceLease> HostBackend::BuildCache(const uint8_t* batch,
                                                    DevicePointers* out) {
  // One buffer laid out like a payload, with slice 0 in every device's
  // place, so the cache also reads as one contiguous global batch.
  const auto& tensors = layout_->tensors();
  std::shared_ptr<uint8_t[]> cache(new uint8_t[layout_->payload_bytes() + 1]);
  for (int d = 0; d < layout_->num_slices(); ++d) {
    for (size_t t = 0; t < tensors.size(); ++t) {
      uint8_t* to = cache.get() + tensors[t].offset + d * tensors[t].slice_bytes;
      std::memcpy(to, batch + tensors[t].offset, tensors[t].slice_bytes);
      (*out)[d][t] = to;
    }
  }
  return DeviceLease(std::move(cache));
}

}  // namespace inputserve::client_internal
