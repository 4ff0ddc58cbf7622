// Thin wrappers over the CUDA runtime calls the CUDA backend needs, in plain
// C++ types so that cuda_runtime.cu (compiled by nvcc) never parses Abseil or
// protobuf headers. Each returns "" on success or a message naming the CUDA
// call and its error. Three implementations link against this header: the
// real one (cuda_runtime.cu), one for builds without the toolkit
// (cuda_runtime_absent.cc), and a recording fake for tests. Thread-safe as
// the CUDA runtime is.
#ifndef INPUTSERVE_CLIENT_DEVICE_CUDA_RUNTIME_H_
#define INPUTSERVE_CLIENT_DEVICE_CUDA_RUNTIME_H_

#include <cstddef>
#include <string>

namespace inputserve::client_internal::cuda {

// False only in builds without the CUDA toolkit.
bool CompiledIn();

// GPUs visible; 0 when cudaGetDeviceCount fails (no driver, no device).
int DeviceCount();

std::string AllocPinned(size_t bytes, void** out);
void FreePinned(void* ptr);

std::string AllocDevice(int device, size_t bytes, void** out);
void FreeDevice(int device, void* ptr);

// A non-blocking stream on `device` (it does not wait for the legacy
// default stream).
std::string CreateStream(int device, void** stream);
void DestroyStream(int device, void* stream);

// An event without timing (the cheapest kind to record and wait on).
std::string CreateEvent(int device, void** event);
void DestroyEvent(int device, void* event);
// Marks the point `stream` has reached; work queued later is not included.
std::string RecordEvent(int device, void* event, void* stream);
// Work queued on `stream` after this call starts only once the event's
// last record has completed; the host does not wait. An event never
// recorded counts as completed.
std::string StreamWaitEvent(int device, void* stream, void* event);
// Blocks the host until the event's last record has completed.
std::string EventSynchronize(int device, void* event);

struct Copy {
  void* dst;        // Device memory on the stream's device.
  const void* src;  // Host memory (pinned for a truly asynchronous copy).
  size_t bytes;
};
// Queues host-to-device copies on `stream`; returns without waiting.
std::string CopyAsync(int device, void* stream, const Copy* copies, size_t n);
// Blocks the host until everything queued on `stream` has run.
std::string Synchronize(int device, void* stream);

}  // namespace inputserve::client_internal::cuda

#endif  // INPUTSERVE_CLIENT_DEVICE_CUDA_RUNTIME_H_
