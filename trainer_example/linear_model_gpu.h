// The CUDA twin of FeaturizeCpu + AccumulateGradientsCpu for one device's
// slice, kept free of CUDA and Abseil headers so plain C++ can call it.
// Errors come back as strings (empty = success) and cuda_backend.cc turns
// them into absl::Status. Built only with INPUTSERVE_WITH_CUDA.
// Not thread-safe: one SliceRunner per GPU, driven by the trainer thread.
#ifndef INPUTSERVE_TRAINER_EXAMPLE_LINEAR_MODEL_GPU_H_
#define INPUTSERVE_TRAINER_EXAMPLE_LINEAR_MODEL_GPU_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trainer_example/feature_spec.h"

namespace inputserve::trainer::gpu {

// Number of usable GPUs; 0 on any error (no driver, no device).
int DeviceCount();

// One non-blocking stream per GPU 0..n-1 (cudaStream_t as void*), for the
// trainer's work and for the client to order its copies against.
std::string CreateStreams(int n, std::vector<void*>* streams);
void DestroyStreams(const std::vector<void*>& streams);

// Device-to-host copy from GPU `device`, ordered after the work queued on
// `stream` (the legacy default stream when null); returns once done.
std::string CopyToHost(int device, void* stream, const void* src, size_t bytes,
                       void* dst);

// Per-device buffers and stream. Launch() enqueues one slice's work on the
// device's stream and returns at once, so all GPUs run concurrently;
// Finish() waits and adds the results into host arrays.
class SliceRunner {
 public:
  // Runs on `stream` (not owned) when given, else on a stream of its own.
  static std::unique_ptr<SliceRunner> Create(int device, std::string* error,
                                             void* stream = nullptr);
  ~SliceRunner();
  SliceRunner(const SliceRunner&) = delete;
  SliceRunner& operator=(const SliceRunner&) = delete;

  // Uploads the fixed featurization (spec.dim() floats of mean).
  std::string SetFeatures(const FeatureSpec& spec, const float* mean);

  // weights: [num_classes, dim] and bias: [num_classes] in host memory.
  // images: n NHWC uint8 images in this device's memory. labels: n int32, in
  // device memory when labels_on_device, else host memory.
  std::string Launch(const float* weights, const float* bias, int num_classes,
                     const uint8_t* images, const int32_t* labels,
                     bool labels_on_device, int n);

  // Waits for the launched slice; adds its summed gradients and loss into
  // grad_weights/grad_bias/loss_sum. When a label was outside
  // [0, num_classes) sets *bad_index/*bad_label (else *bad_index = -1) and
  // leaves the sums untouched.
  std::string Finish(float* grad_weights, float* grad_bias, double* loss_sum,
                     int* bad_index, int* bad_label);

 private:
  struct State;
  explicit SliceRunner(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace inputserve::trainer::gpu

#endif  // INPUTSERVE_TRAINER_EXAMPLE_LINEAR_MODEL_GPU_H_
