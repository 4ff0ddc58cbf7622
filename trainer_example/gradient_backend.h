// GradientBackend: runs the model's forward/backward on the devices that hold
// a step's batch slices and sums their gradients on the host. The CPU backend
// handles host memory (num_devices = 0 or host "devices"); the CUDA backend
// (built with INPUTSERVE_WITH_CUDA) runs each slice on its own GPU.
// Not thread-safe: the trainer thread owns its backend.
#ifndef INPUTSERVE_TRAINER_EXAMPLE_GRADIENT_BACKEND_H_
#define INPUTSERVE_TRAINER_EXAMPLE_GRADIENT_BACKEND_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "inputserve/batch.h"
#include "trainer_example/feature_spec.h"
#include "trainer_example/linear_model.h"

namespace inputserve::trainer {

// One device's share of a step: its images [n, H, W, C] uint8 and labels
// [n] int32, both as the client handed them over.
struct Slice {
  const TensorView* images = nullptr;
  const TensorView* labels = nullptr;
  int size() const { return static_cast<int>(images->shape[0]); }
};

class GradientBackend {
 public:
  virtual ~GradientBackend() = default;

  // Which memory this backend reads.
  virtual MemoryKind memory() const = 0;

  // Copies one tensor of a slice to host memory (tensor.num_bytes at dst):
  // the images once to fix the feature mean, and every tensor of a step for
  // --digest_file.
  virtual absl::Status CopyToHost(const TensorView& tensor, void* dst) = 0;

  // Fixes the featurization for all later steps. Call once, before Step().
  virtual absl::Status SetFeatures(const FeatureSpec& spec,
                                   std::vector<float> mean) = 0;

  // Adds every slice's summed gradients and loss to `grads` (the caller
  // divides by grads->examples: the average over all devices' examples).
  virtual absl::Status Step(const LinearModel& model,
                            const std::vector<Slice>& slices,
                            Gradients* grads) = 0;
};

// Host memory: featurize and AccumulateGradientsCpu per slice.
std::unique_ptr<GradientBackend> MakeCpuBackend();

// The backend for `memory`: FAILED_PRECONDITION for kCuda when this binary
// was built without CUDA. With CUDA, each device's step runs on
// cuda_streams[device] (the streams the client was given), or on a stream
// of its own where there is none.
absl::StatusOr<std::unique_ptr<GradientBackend>> MakeBackend(
    MemoryKind memory, const std::vector<void*>& cuda_streams = {});

}  // namespace inputserve::trainer

#endif  // INPUTSERVE_TRAINER_EXAMPLE_GRADIENT_BACKEND_H_
