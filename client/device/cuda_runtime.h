// Thin wrappers over the CUDA runtime calls the CUDA backend needs, in plain
// C++ types so that cuda_runtime.cu (compiled by nvcc) never parses Abseil or
// protobuf headers. Each returns "" on success or a message naming the CUDA
// call and its error. Thread-safe as the CUDA runtime is.
#ifndef INPUTSERVE_CLIENT_DEVICE_CUDA_RUNTIME_H_
#define INPUTSERVE_CLIENT_DEVICE_CUDA_RUNTIME_H_

#include <cstddef>
#include <string>

namespace inputserve::client_internal::cuda {

// GPUs visible; 0 when cudaGetDeviceCount fails (no driver, no device).
int DeviceCount();

std::string AllocPinned(size_t bytes, void** out);
void FreePinned(void* ptr);

std::string AllocDevice(int device, size_t bytes, void** out);
void FreeDevice(int device, void* ptr);

std::string CreateStream(int device, void** stream);
void DestroyStream(int device, void* stream);

struct Copy {
  void* dst;        // Device memory on the stream's device.
  const void* src;  // Host memory (pinned for a truly asynchronous copy).
  size_t bytes;
};
// Queues host-to-device copies on `stream`; returns without waiting.
std::string CopyAsync(int device, void* stream, const Copy* copies, size_t n);
std::string Synchronize(int device, void* stream);

}  // namespace inputserve::client_internal::cuda

#endif  // INPUTSERVE_CLIENT_DEVICE_CUDA_RUNTIME_H_
