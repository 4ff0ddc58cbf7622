#include <cuda_runtime_api.h>

#include <string>

#include "client/device/cuda_runtime.h"

namespace inputserve::client_internal::cuda {
namespace {

std::string Error(const char* call, cudaError_t err) {
  if (err == cudaSuccess) return std::string();
  return std::string(call) + ": " + cudaGetErrorName(err) + " (" +
         cudaGetErrorString(err) + ")";
}

}  // namespace

bool CompiledIn() { return true; }

int DeviceCount() {
  // Left untouched by a failing call (no driver: error 35), so start at 0.
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // Clear the sticky-free error so later calls start
                         // clean.
    return 0;
  }
  return count;
}

std::string AllocPinned(size_t bytes, void** out) {
  return Error("cudaHostAlloc",
               cudaHostAlloc(out, bytes, cudaHostAllocDefault));
}

void FreePinned(void* ptr) { cudaFreeHost(ptr); }

std::string AllocDevice(int device, size_t bytes, void** out) {
  std::string err = Error("cudaSetDevice", cudaSetDevice(device));
  if (!err.empty()) return err;
  return Error("cudaMalloc", cudaMalloc(out, bytes));
}

void FreeDevice(int device, void* ptr) {
  cudaSetDevice(device);
  cudaFree(ptr);
}

std::string CreateStream(int device, void** stream) {
  std::string err = Error("cudaSetDevice", cudaSetDevice(device));
  if (!err.empty()) return err;
  cudaStream_t s = nullptr;
  err = Error("cudaStreamCreateWithFlags",
              cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  *stream = s;
  return err;
}

void DestroyStream(int device, void* stream) {
  cudaSetDevice(device);
  cudaStreamDestroy(static_cast<cudaStream_t>(stream));
}

std::string CreateEvent(int device, void** event) {
  std::string err = Error("cudaSetDevice", cudaSetDevice(device));
  if (!err.empty()) return err;
  cudaEvent_t e = nullptr;
  err = Error("cudaEventCreateWithFlags",
              cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  *event = e;
  return err;
}

void DestroyEvent(int device, void* event) {
  cudaSetDevice(device);
  cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

std::string RecordEvent(int device, void* event, void* stream) {
  std::string err = Error("cudaSetDevice", cudaSetDevice(device));
  if (!err.empty()) return err;
  return Error("cudaEventRecord",
               cudaEventRecord(static_cast<cudaEvent_t>(event),
                               static_cast<cudaStream_t>(stream)));
}

std::string StreamWaitEvent(int device, void* stream, void* event) {
  std::string err = Error("cudaSetDevice", cudaSetDevice(device));
  if (!err.empty()) return err;
  return Error("cudaStreamWaitEvent",
               cudaStreamWaitEvent(static_cast<cudaStream_t>(stream),
                                   static_cast<cudaEvent_t>(event), 0));
}

std::string EventSynchronize(int device, void* event) {
  std::string err = Error("cudaSetDevice", cudaSetDevice(device));
  if (!err.empty()) return err;
  return Error("cudaEventSynchronize",
               cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
}

std::string CopyAsync(int device, void* stream, const Copy* copies, size_t n) {
  std::string err = Error("cudaSetDevice", cudaSetDevice(device));
  if (!err.empty()) return err;
  for (size_t i = 0; i < n; ++i) {
    err = Error("cudaMemcpyAsync",
                cudaMemcpyAsync(copies[i].dst, copies[i].src, copies[i].bytes,
                                cudaMemcpyHostToDevice,
                                static_cast<cudaStream_t>(stream)));
    if (!err.empty()) return err;
  }
  return std::string();
}

std::string Synchronize(int device, void* stream) {
  std::string err = Error("cudaSetDevice", cudaSetDevice(device));
  if (!err.empty()) return err;
  return Error("cudaStreamSynchronize",
               cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
}

}  // namespace inputserve::client_internal::cuda
