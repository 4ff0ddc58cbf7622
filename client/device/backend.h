// DeviceBackend: where per-device slices of a batch live. The host backend
// hands out views into the received buffer (no copy); the CUDA backend copies
// each slice into per-GPU buffers. Both also build the synthetic cache: slice
// 0 copied once to every device. Place/BuildCache are called from the one
// thread that calls Client::Next(), the arrival calls from stream threads;
// the leases they return may be dropped on any thread, and may outlive the
// backend.
#ifndef INPUTSERVE_CLIENT_DEVICE_BACKEND_H_
#define INPUTSERVE_CLIENT_DEVICE_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "client/batch_layout.h"
#include "inputserve/batch.h"
#include "inputserve/options.h"

namespace inputserve::client_internal {

// pointers[device][tensor]: start of that device's slice of that tensor.
using DevicePointers = std::vector<std::vector<void*>>;

// Keeps the memory that one Place() or BuildCache() result points to: the
// backend reuses it only after every copy of the lease is gone. Null when
// the pointers are views into the caller's host buffer (nothing to keep).
using DeviceLease = std::shared_ptr<void>;

class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;

  virtual MemoryKind memory_kind() const = 0;
  // Memory for received batches (page-locked with CUDA, for fast copies).
  virtual absl::StatusOr<void*> AllocateHost(size_t bytes) = 0;
  virtual void FreeHost(void* ptr) = 0;
  // Places the slices of a received batch on the devices. `out` must be
  // sized [num_slices][num_tensors]; the pointers stay valid while the
  // returned lease (and `batch`, for views) lives.
  virtual absl::StatusOr<DeviceLease> Place(const uint8_t* batch,
                                            DevicePointers* out) = 0;
  // Copies slice 0 of `batch` to every device once; `out` as for Place and
  // valid while the returned lease lives.
  virtual absl::StatusOr<DeviceLease> BuildCache(const uint8_t* batch,
                                                 DevicePointers* out) = 0;
  // Host-to-device bytes copied so far. Any thread.
  virtual uint64_t h2d_bytes() const { return 0; }

  // Early copies, called by the stream thread that fills host buffer
  // `batch` (any thread; one at a time per buffer): a batch begins in it;
  // its first `filled` bytes are final; forget what was copied early from
  // it (a stream error, or a batch that is not announced). A backend that
  // copies may start copying complete slices so Place() finds them on
  // their way. Place() of a buffer not announced copies everything itself.
  virtual void BeginArrival(const uint8_t* /*batch*/) {}
  virtual void BytesArrived(const uint8_t* /*batch*/, size_t /*filled*/) {}
  virtual void AbandonArrival(const uint8_t* /*batch*/) {}
};

// The backend for options.device_kind (kAuto resolved: CUDA when compiled
// in and at least max(1, num_devices) GPUs exist, else host).
// FAILED_PRECONDITION for kCuda without CUDA support or with too few GPUs;
// INVALID_ARGUMENT for a device_ring_depth outside [2, 64] or cuda_streams
// not empty and not one per device.
absl::StatusOr<std::unique_ptr<DeviceBackend>> CreateDeviceBackend(
    const ClientOptions& options, const BatchLayout* layout);

// GPUs visible to this process; 0 without CUDA support or without a driver.
int CudaDeviceCount();

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_DEVICE_BACKEND_H_
