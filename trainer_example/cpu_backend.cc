// The host-memory GradientBackend, and MakeBackend() which picks a backend
// by where the client put the batch.
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "trainer_example/features.h"
#include "trainer_example/gradient_backend.h"

namespace inputserve::trainer {
#ifdef INPUTSERVE_TRAINER_WITH_CUDA
// Defined in cuda_backend.cc.
absl::StatusOr<std::unique_ptr<GradientBackend>> MakeCudaBackend(
    std::vector<void*> streams);
#endif

namespace {

class CpuBackend final : public GradientBackend {
 public:
  MemoryKind memory() const override { return MemoryKind::kHost; }

  absl::Status CopyToHost(const TensorView& tensor, void* dst) override {
    std::memcpy(dst, tensor.data, tensor.num_bytes);
    return absl::OkStatus();
  }

  absl::Status SetFeatures(const FeatureSpec& spec,
                           std::vector<float> mean) override {
    spec_ = spec;
    mean_ = std::move(mean);
    return absl::OkStatus();
  }

  absl::Status Step(const LinearModel& model, const std::vector<Slice>& slices,
                    Gradients* grads) override {
    for (const Slice& slice : slices) {
      if (slice.images->memory != MemoryKind::kHost ||
          slice.labels->memory != MemoryKind::kHost) {
        return absl::FailedPreconditionError(
            absl::StrCat("CPU backend got a slice in device memory (device ",
                         slice.images->device, ")"));
      }
      const int n = slice.size();
      features_.resize(static_cast<size_t>(n) * spec_.dim());
      FeaturizeCpu(spec_, static_cast<const uint8_t*>(slice.images->data), n,
                   mean_.data(), features_.data());
      absl::Status status = AccumulateGradientsCpu(
          model, features_.data(),
          static_cast<const int32_t*>(slice.labels->data), n, grads);
      if (!status.ok()) {
        return absl::Status(status.code(),
                            absl::StrCat("device ", slice.images->device, ": ",
                                         status.message()));
      }
    }
    return absl::OkStatus();
  }

 private:
  FeatureSpec spec_;
  std::vector<float> mean_;
  std::vector<float> features_;  // Scratch, reused across steps.
};

}  // namespace

std::unique_ptr<GradientBackend> MakeCpuBackend() {
  return std::make_unique<CpuBackend>();
}

absl::StatusOr<std::unique_ptr<GradientBackend>> MakeBackend(
    MemoryKind memory, const std::vector<void*>& cuda_streams) {
  if (memory == MemoryKind::kHost) return MakeCpuBackend();
#ifdef INPUTSERVE_TRAINER_WITH_CUDA
  return MakeCudaBackend(cuda_streams);
#else
  return absl::FailedPreconditionError(
      "the client returned CUDA memory but trainer_example was built "
      "without CUDA (INPUTSERVE_WITH_CUDA=OFF)");
#endif
}

}  // namespace inputserve::trainer
