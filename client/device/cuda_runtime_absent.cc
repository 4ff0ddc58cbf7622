// The CUDA runtime wrappers of a build without the CUDA toolkit: no GPU is
// ever visible and every call fails, so the CUDA backend compiles (and its
// tests run against the fake runtime) everywhere.
#include <string>

#include "client/device/cuda_runtime.h"

namespace inputserve::client_internal::cuda {
namespace {

std::string Absent(const char* call) {
  return std::string(call) +
         ": this inputserve client was built without CUDA "
         "(INPUTSERVE_WITH_CUDA=OFF)";
}

}  // namespace

bool CompiledIn() { return false; }
int DeviceCount() { return 0; }

std::string AllocPinned(size_t, void**) { return Absent("cudaHostAlloc"); }
void FreePinned(void*) {}
std::string AllocDevice(int, size_t, void**) { return Absent("cudaMalloc"); }
void FreeDevice(int, void*) {}
std::string CreateStream(int, void**) {
  return Absent("cudaStreamCreateWithFlags");
}
void DestroyStream(int, void*) {}
std::string CreateEvent(int, void**) {
  return Absent("cudaEventCreateWithFlags");
}
void DestroyEvent(int, void*) {}
std::string RecordEvent(int, void*, void*) { return Absent("cudaEventRecord"); }
std::string StreamWaitEvent(int, void*, void*) {
  return Absent("cudaStreamWaitEvent");
}
std::string EventSynchronize(int, void*) {
  return Absent("cudaEventSynchronize");
}
std::string CopyAsync(int, void*, const Copy*, size_t) {
  return Absent("cudaMemcpyAsync");
}
std::string Synchronize(int, void*) { return Absent("cudaStreamSynchronize"); }

}  // namespace inputserve::client_internal::cuda
