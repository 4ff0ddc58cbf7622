// Host-to-device bandwidth of the client's staging path (CudaBackend: ring
// slots, per-slice copies on its own streams, events against the trainer's
// streams) next to plain cudaMemcpyAsync from pinned memory of the same
// size, in the same run, on every GPU at once. Prints one line:
//   RESULT h2d_staging_gbps=<x> h2d_plain_gbps=<y> ratio=<x/y> gpus=<n>
//          batch_bytes=<b>
// Exits 77 (ctest's skip code here) when no GPU is usable.
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/batch_layout.h"
#include "client/device/cuda_backend.h"
#include "client/device/cuda_runtime.h"
#include "tests/unit/client/image_label_specs.h"

ABSL_FLAG(int, num_gpus, 0, "GPUs to copy to; 0 = every visible GPU.");
ABSL_FLAG(int, batch_size, 256, "Examples per global batch.");
ABSL_FLAG(int, image_size, 224, "Image height and width (uint8, 3 channels).");
ABSL_FLAG(int, iters, 40, "Batches copied per measurement.");
ABSL_FLAG(int, hold, 2, "Batches the trainer holds at once (staging path).");

namespace inputserve::client_internal {
namespace {

constexpr int kSkip = 77;

int Fail(const std::string& what, const std::string& err) {
  std::fprintf(stderr, "gpu_h2d_bench: %s: %s\n", what.c_str(), err.c_str());
  return 1;
}

double Gbps(uint64_t bytes, absl::Duration took) {
  return bytes / absl::ToDoubleSeconds(took) / 1e9;
}

// Plain copies: one pinned buffer and one device buffer per GPU, `iters`
// copies of `bytes` each on one stream per GPU, all GPUs at once.
absl::StatusOr<double> PlainGbps(int gpus, size_t bytes, int iters) {
  std::vector<void*> host(gpus), device(gpus), streams(gpus);
  std::string err;
  for (int d = 0; d < gpus && err.empty(); ++d) {
    err = cuda::AllocPinned(bytes, &host[d]);
    if (err.empty()) err = cuda::AllocDevice(d, bytes, &device[d]);
    if (err.empty()) err = cuda::CreateStream(d, &streams[d]);
  }
  absl::Duration took;
  for (int round = 0; round < 2 && err.empty(); ++round) {  // Warm-up first.
    const absl::Time start = absl::Now();
    for (int i = 0; i < iters && err.empty(); ++i) {
      for (int d = 0; d < gpus && err.empty(); ++d) {
        const cuda::Copy copy{device[d], host[d], bytes};
        err = cuda::CopyAsync(d, streams[d], &copy, 1);
      }
    }
    for (int d = 0; d < gpus && err.empty(); ++d) {
      err = cuda::Synchronize(d, streams[d]);
    }
    took = absl::Now() - start;
  }
  for (int d = 0; d < gpus; ++d) {
    if (streams[d] != nullptr) cuda::DestroyStream(d, streams[d]);
    if (device[d] != nullptr) cuda::FreeDevice(d, device[d]);
    if (host[d] != nullptr) cuda::FreePinned(host[d]);
  }
  if (!err.empty()) return absl::InternalError(err);
  return Gbps(static_cast<uint64_t>(bytes) * gpus * iters, took);
}

// The staging path: Place() of a pinned batch, the trainer holding `hold`
// batches (released in order), with the trainer's streams passed in.
absl::StatusOr<double> StagingGbps(int gpus, const BatchLayout& layout,
                                   int iters, int hold) {
  std::vector<void*> streams(gpus);
  for (int d = 0; d < gpus; ++d) {
    if (std::string err = cuda::CreateStream(d, &streams[d]); !err.empty()) {
      return absl::InternalError(err);
    }
  }
  double gbps = 0;
  absl::Status status;
  {
    CudaBackendOptions options;
    options.num_devices = gpus;
    options.trainer_streams = streams;
    absl::StatusOr<std::unique_ptr<CudaBackend>> backend =
        CudaBackend::Create(options, &layout);
    if (!backend.ok()) return backend.status();
    absl::StatusOr<void*> host =
        (*backend)->AllocateHost(layout.payload_bytes());
    if (!host.ok()) return host.status();
    const auto* batch = static_cast<const uint8_t*>(*host);
    DevicePointers ptrs(gpus, std::vector<void*>(layout.tensors().size()));
    for (int round = 0; round < 2 && status.ok(); ++round) {
      std::deque<DeviceLease> held;
      const uint64_t before = (*backend)->h2d_bytes();
      const absl::Time start = absl::Now();
      for (int i = 0; i < iters && status.ok(); ++i) {
        absl::StatusOr<DeviceLease> lease = (*backend)->Place(batch, &ptrs);
        if (!lease.ok()) {
          status = lease.status();
          break;
        }
        held.push_back(*std::move(lease));
        if (static_cast<int>(held.size()) > hold) held.pop_front();
      }
      held.clear();  // Each drop waits for its batch's copies.
      for (int d = 0; d < gpus && status.ok(); ++d) {
        if (std::string err = cuda::Synchronize(d, streams[d]); !err.empty()) {
          status = absl::InternalError(err);
        }
      }
      gbps = Gbps((*backend)->h2d_bytes() - before, absl::Now() - start);
    }
    (*backend)->FreeHost(*host);
  }
  for (int d = 0; d < gpus; ++d) cuda::DestroyStream(d, streams[d]);
  if (!status.ok()) return status;
  return gbps;
}

int Main() {
  const int visible = cuda::DeviceCount();
  if (visible == 0) {
    std::printf("SKIP gpu_h2d_bench: no usable GPU\n");
    return kSkip;
  }
  int gpus = absl::GetFlag(FLAGS_num_gpus);
  if (gpus <= 0) gpus = visible;
  if (gpus > visible) {
    return Fail("--num_gpus",
                absl::StrFormat("%d asked, %d visible", gpus, visible));
  }
  const int batch = absl::GetFlag(FLAGS_batch_size) / gpus * gpus;
  absl::StatusOr<BatchLayout> layout = BatchLayout::Create(
      batch,
      testing::ImageLabelSpecs(batch, absl::GetFlag(FLAGS_image_size),
                               absl::GetFlag(FLAGS_image_size)),
      gpus);
  if (!layout.ok()) return Fail("layout", layout.status().ToString());
  const int iters = absl::GetFlag(FLAGS_iters);
  absl::StatusOr<double> staging =
      StagingGbps(gpus, *layout, iters, absl::GetFlag(FLAGS_hold));
  if (!staging.ok()) return Fail("staging path", staging.status().ToString());
  absl::StatusOr<double> plain =
      PlainGbps(gpus, layout->slice_payload_bytes(), iters);
  if (!plain.ok()) return Fail("plain copies", plain.status().ToString());
  std::printf(
      "RESULT h2d_staging_gbps=%.2f h2d_plain_gbps=%.2f ratio=%.3f gpus=%d "
      "batch_bytes=%zu\n",
      *staging, *plain, *staging / *plain, gpus, layout->payload_bytes());
  return 0;
}

}  // namespace
}  // namespace inputserve::client_internal

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return inputserve::client_internal::Main();
}
