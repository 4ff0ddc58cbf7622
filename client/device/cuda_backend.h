// CudaBackend: per-device slices in GPU memory. Each GPU has a ring of slot
// buffers that batches rotate through, and a copy stream of the client's
// own: Place() queues a batch's copies (from pinned host memory) into the
// least recently released slot and returns without a host-side wait when
// the trainer gave its streams (the trainer's stream waits on the copy's
// event). A slot is written again only after the event recorded on the
// trainer's stream when the batch was released, so copies never overwrite
// memory the trainer's queued work may still read; the ring grows when the
// trainer holds more batches than it has slots. The synthetic cache is one
// extra buffer per device, uploaded once. While a batch still arrives, each
// of its (tensor, device) slices is copied as soon as its bytes are in, so
// Place() mostly finds the batch on the device already.
// Thread-safety: Place/BuildCache from one thread, the arrival calls from
// stream threads (see DeviceBackend); leases may be dropped on any thread
// and may outlive the backend; h2d_bytes() and ring_size() from any thread.
#ifndef INPUTSERVE_CLIENT_DEVICE_CUDA_BACKEND_H_
#define INPUTSERVE_CLIENT_DEVICE_CUDA_BACKEND_H_

#include <memory>
#include <vector>

#include "client/device/backend.h"

namespace inputserve::client_internal {

struct CudaBackendOptions {
  int num_devices = 1;
  int ring_depth = 3;  // Slots per device to start with (>= 1).
  // The trainer's stream per device, or empty: see
  // ClientOptions::cuda_streams.
  std::vector<void*> trainer_streams;
};

class CudaBackend final : public DeviceBackend {
 public:
  // FAILED_PRECONDITION when fewer than num_devices GPUs are visible;
  // INTERNAL naming the CUDA call and device when setting up fails.
  static absl::StatusOr<std::unique_ptr<CudaBackend>> Create(
      const CudaBackendOptions& options, const BatchLayout* layout);
  ~CudaBackend() override;

  MemoryKind memory_kind() const override { return MemoryKind::kCuda; }
  absl::StatusOr<void*> AllocateHost(size_t bytes) override;
  void FreeHost(void* ptr) override;
  absl::StatusOr<DeviceLease> Place(const uint8_t* batch,
                                    DevicePointers* out) override;
  absl::StatusOr<DeviceLease> BuildCache(const uint8_t* batch,
                                         DevicePointers* out) override;
  uint64_t h2d_bytes() const override;
  // Queues each (tensor, device) slice's copy as soon as its bytes are in.
  void BeginArrival(const uint8_t* batch) override;
  void BytesArrived(const uint8_t* batch, size_t filled) override;
  void AbandonArrival(const uint8_t* batch) override;

  // Slots in device `device`'s ring now.
  int ring_size(int device) const;

  // Shared with the leases, which may outlive the backend.
  struct State;

 private:
  explicit CudaBackend(std::shared_ptr<State> state)
      : state_(std::move(state)) {}

  std::shared_ptr<State> state_;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_DEVICE_CUDA_BACKEND_H_
