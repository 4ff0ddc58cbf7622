#include "client/device/backend.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/device/cuda_backend.h"
#include "client/device/cuda_runtime.h"
#include "client/device/host_backend.h"

namespace inputserve::client_internal {
namespace {

constexpr int kMinRingDepth = 2;
constexpr int kMaxRingDepth = 64;

absl::Status ValidateDeviceOptions(const ClientOptions& options) {
  if (options.device_ring_depth < kMinRingDepth ||
      options.device_ring_depth > kMaxRingDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ClientOptions.device_ring_depth must be in [", kMinRingDepth, ", ",
        kMaxRingDepth, "], got ", options.device_ring_depth));
  }
  if (!options.cuda_streams.empty() &&
      static_cast<int>(options.cuda_streams.size()) != options.num_devices) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ClientOptions.cuda_streams has ", options.cuda_streams.size(),
        " entries; give none or one per device (num_devices = ",
        options.num_devices, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

int CudaDeviceCount() { return cuda::DeviceCount(); }

absl::StatusOr<std::unique_ptr<DeviceBackend>> CreateDeviceBackend(
    const ClientOptions& options, const BatchLayout* layout) {
  if (absl::Status s = ValidateDeviceOptions(options); !s.ok()) return s;
  const int num_devices = options.num_devices;
  const DeviceKind kind = options.device_kind;
  // num_devices = 0 is "one unsplit host batch" whatever the kind.
  const bool want_cuda =
      num_devices > 0 &&
      (kind == DeviceKind::kCuda ||
       (kind == DeviceKind::kAuto && CudaDeviceCount() >= num_devices));
  if (!want_cuda) return std::make_unique<HostBackend>(layout);
  if (!cuda::CompiledIn()) {
    return absl::FailedPreconditionError(
        "device_kind kCuda requested but this inputserve client was built "
        "without CUDA (INPUTSERVE_WITH_CUDA=OFF)");
  }
  CudaBackendOptions cuda_options;
  cuda_options.num_devices = num_devices;
  cuda_options.ring_depth = options.device_ring_depth;
  cuda_options.trainer_streams = options.cuda_streams;
  absl::StatusOr<std::unique_ptr<CudaBackend>> cuda =
      CudaBackend::Create(cuda_options, layout);
  if (!cuda.ok()) return cuda.status();
  return std::unique_ptr<DeviceBackend>(std::move(*cuda));
}

}  // namespace inputserve::client_internal
