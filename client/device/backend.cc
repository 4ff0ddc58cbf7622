#include "client/device/backend.h"

#include "absl/status/status.h"
#include "client/device/host_backend.h"
#ifdef INPUTSERVE_CLIENT_WITH_CUDA
#include "client/device/cuda_backend.h"
#include "client/device/cuda_runtime.h"
#endif

namespace inputserve::client_internal {

int CudaDeviceCount() {
#ifdef INPUTSERVE_CLIENT_WITH_CUDA
  return cuda::DeviceCount();
#else
  return 0;
#endif
}

absl::StatusOr<std::unique_ptr<DeviceBackend>> CreateDeviceBackend(
    DeviceKind kind, int num_devices, const BatchLayout* layout) {
  // num_devices = 0 is "one unsplit host batch" whatever the kind.
  const bool want_cuda =
      num_devices > 0 &&
      (kind == DeviceKind::kCuda ||
       (kind == DeviceKind::kAuto && CudaDeviceCount() >= num_devices));
  if (!want_cuda) return std::make_unique<HostBackend>(layout);
#ifdef INPUTSERVE_CLIENT_WITH_CUDA
  absl::StatusOr<std::unique_ptr<CudaBackend>> cuda =
      CudaBackend::Create(num_devices, layout);
  if (!cuda.ok()) return cuda.status();
  return std::unique_ptr<DeviceBackend>(std::move(*cuda));
#else
  return absl::FailedPreconditionError(
      "device_kind kCuda requested but this inputserve client was built "
      "without CUDA (INPUTSERVE_WITH_CUDA=OFF)");
#endif
}

}  // namespace inputserve::client_internal
