// The CUDA GradientBackend: one SliceRunner per GPU. Each step launches every
// device's slice first and only then waits, so the GPUs work concurrently;
// the host sums their gradients. Built only with INPUTSERVE_WITH_CUDA.
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "trainer_example/gradient_backend.h"
#include "trainer_example/linear_model_gpu.h"

namespace inputserve::trainer {
namespace {

absl::Status GpuError(int device, const std::string& error) {
  return absl::InternalError(absl::StrCat("GPU ", device, ": ", error));
}

class CudaBackend final : public GradientBackend {
 public:
  explicit CudaBackend(std::vector<void*> streams)
      : streams_(std::move(streams)) {}

  MemoryKind memory() const override { return MemoryKind::kCuda; }

  absl::Status CopyToHost(const TensorView& tensor, void* dst) override {
    if (tensor.memory != MemoryKind::kCuda) {
      std::memcpy(dst, tensor.data, tensor.num_bytes);
      return absl::OkStatus();
    }
    std::string err = gpu::CopyToHost(tensor.device, StreamOf(tensor.device),
                                      tensor.data, tensor.num_bytes, dst);
    if (!err.empty()) return GpuError(tensor.device, err);
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
    std::vector<gpu::SliceRunner*> launched;
    for (const Slice& slice : slices) {
      if (slice.images->memory != MemoryKind::kCuda) {
        return absl::FailedPreconditionError(
            absl::StrCat("CUDA backend got a slice in host memory (device ",
                         slice.images->device, ")"));
      }
      INPUTSERVE_ASSIGN_OR_RETURN(gpu::SliceRunner * runner,
                                  Runner(slice.images->device));
      std::string err = runner->Launch(
          model.weights.data(), model.bias.data(), model.num_classes,
          static_cast<const uint8_t*>(slice.images->data),
          static_cast<const int32_t*>(slice.labels->data),
          slice.labels->memory == MemoryKind::kCuda, slice.size());
      if (!err.empty()) return GpuError(slice.images->device, err);
      launched.push_back(runner);
    }
    for (size_t i = 0; i < launched.size(); ++i) {
      int bad_index = -1, bad_label = 0;
      std::string err =
          launched[i]->Finish(grads->weights.data(), grads->bias.data(),
                              &grads->loss_sum, &bad_index, &bad_label);
      const int device = slices[i].images->device;
      if (!err.empty()) return GpuError(device, err);
      if (bad_index >= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "device ", device, ": label ", bad_label, " of example ", bad_index,
            " is outside [0, ", model.num_classes,
            "); set --num_classes to the dataset's class count"));
      }
      grads->examples += slices[i].size();
    }
    return absl::OkStatus();
  }

 private:
  // The device's runner, created (and given the features) on first use.
  absl::StatusOr<gpu::SliceRunner*> Runner(int device) {
    auto it = runners_.find(device);
    if (it != runners_.end()) return it->second.get();
    std::string err;
    std::unique_ptr<gpu::SliceRunner> runner =
        gpu::SliceRunner::Create(device, &err, StreamOf(device));
    if (runner == nullptr) return GpuError(device, err);
    err = runner->SetFeatures(spec_, mean_.data());
    if (!err.empty()) return GpuError(device, err);
    gpu::SliceRunner* raw = runner.get();
    runners_.emplace(device, std::move(runner));
    return raw;
  }

  // The stream the client orders device `device`'s batches against, or
  // null (the runner then makes its own, and Next() waits on the host).
  void* StreamOf(int device) const {
    return device >= 0 && device < static_cast<int>(streams_.size())
               ? streams_[device]
               : nullptr;
  }

  const std::vector<void*> streams_;
  FeatureSpec spec_;
  std::vector<float> mean_;
  std::map<int, std::unique_ptr<gpu::SliceRunner>> runners_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GradientBackend>> MakeCudaBackend(
    std::vector<void*> streams) {
  if (gpu::DeviceCount() == 0) {
    return absl::FailedPreconditionError(
        "the client returned CUDA memory but no GPU is usable");
  }
  return std::make_unique<CudaBackend>(std::move(streams));
}

}  // namespace inputserve::trainer
