// CUDA kernels for the linear model: featurize (average-pool, scale,
// subtract mean), logits, softmax + cross-entropy, and the weight and bias
// gradients, for one device's slice. Mirrors features.cc/linear_model.cc;
// tests/unit/trainer compares the two when a GPU is present.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "trainer_example/linear_model_gpu.h"

namespace inputserve::trainer::gpu {
namespace {

constexpr int kThreads = 256;

std::string Error(const char* what, cudaError_t err) {
  return std::string(what) + ": " + cudaGetErrorName(err) + " (" +
         cudaGetErrorString(err) + ")";
}

#define RETURN_IF_CUDA_ERROR(expr, what)               \
  do {                                                 \
    cudaError_t err_ = (expr);                         \
    if (err_ != cudaSuccess) return Error(what, err_); \
  } while (0)

int Blocks(int64_t items) {
  return static_cast<int>((items + kThreads - 1) / kThreads);
}

// One thread per (example, feature).
__global__ void FeaturizeKernel(const uint8_t* images, int n, int height,
                                int width, int channels, int pool,
                                int out_width, int dim, const float* mean,
                                float* features) {
  const int64_t idx =
      blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<int64_t>(n) * dim) return;
  const int i = static_cast<int>(idx / dim);
  const int j = static_cast<int>(idx % dim);
  const int c = j % channels;
  const int ox = (j / channels) % out_width;
  const int oy = j / (channels * out_width);
  const uint8_t* image =
      images + static_cast<int64_t>(i) * height * width * channels;
  uint32_t sum = 0;
  for (int dy = 0; dy < pool; ++dy) {
    const uint8_t* row =
        image +
        (static_cast<int64_t>(oy * pool + dy) * width + ox * pool) * channels +
        c;
    for (int dx = 0; dx < pool; ++dx) sum += row[dx * channels];
  }
  features[idx] = sum * (1.0f / (255.0f * pool * pool)) - mean[j];
}

// One block per (example, class): a strided dot product, then a tree sum.
__global__ void LogitsKernel(const float* features, const float* weights,
                             const float* bias, int dim, int num_classes,
                             float* logits) {
  __shared__ float partial[kThreads];
  const int i = blockIdx.x / num_classes;
  const int k = blockIdx.x % num_classes;
  const float* f = features + static_cast<int64_t>(i) * dim;
  const float* w = weights + static_cast<int64_t>(k) * dim;
  float acc = 0.0f;
  for (int d = threadIdx.x; d < dim; d += blockDim.x) acc += w[d] * f[d];
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) logits[blockIdx.x] = partial[0] + bias[k];
}

// One thread per example: turns its logits in place into
// d(loss)/d(logit) = softmax - onehot and writes its loss. A label out of
// range is recorded in bad[0] (index) / bad[1] (label).
__global__ void SoftmaxKernel(const int32_t* labels, int n, int num_classes,
                              float* logits, float* loss, int* bad) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float* l = logits + static_cast<int64_t>(i) * num_classes;
  const int label = labels[i];
  if (label < 0 || label >= num_classes) {
    if (atomicCAS(&bad[0], -1, i) == -1) bad[1] = label;
    for (int k = 0; k < num_classes; ++k) l[k] = 0.0f;
    loss[i] = 0.0f;
    return;
  }
  float max_logit = l[0];
  for (int k = 1; k < num_classes; ++k) max_logit = fmaxf(max_logit, l[k]);
  float sum_exp = 0.0f;
  for (int k = 0; k < num_classes; ++k) sum_exp += expf(l[k] - max_logit);
  const float log_z = max_logit + logf(sum_exp);
  loss[i] = log_z - l[label];
  for (int k = 0; k < num_classes; ++k) {
    l[k] = expf(l[k] - log_z) - (k == label ? 1.0f : 0.0f);
  }
}

// One thread per weight: sum over the slice's examples (adjacent threads
// read adjacent features, so loads coalesce).
__global__ void GradWeightsKernel(const float* delta, const float* features,
                                  int n, int dim, int num_classes,
                                  float* grad_weights) {
  const int64_t idx =
      blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<int64_t>(num_classes) * dim) return;
  const int k = static_cast<int>(idx / dim);
  const int d = static_cast<int>(idx % dim);
  float acc = 0.0f;
  for (int i = 0; i < n; ++i) {
    acc += delta[static_cast<int64_t>(i) * num_classes + k] *
           features[static_cast<int64_t>(i) * dim + d];
  }
  grad_weights[idx] = acc;
}

__global__ void GradBiasKernel(const float* delta, int n, int num_classes,
                               float* grad_bias) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= num_classes) return;
  float acc = 0.0f;
  for (int i = 0; i < n; ++i)
    acc += delta[static_cast<int64_t>(i) * num_classes + k];
  grad_bias[k] = acc;
}

// Grows a device buffer to hold `bytes`; contents are not kept.
std::string EnsureDevice(void** ptr, size_t* capacity, size_t bytes) {
  if (*capacity >= bytes) return "";
  if (*ptr != nullptr) cudaFree(*ptr);
  *ptr = nullptr;
  *capacity = 0;
  RETURN_IF_CUDA_ERROR(cudaMalloc(ptr, bytes), "cudaMalloc");
  *capacity = bytes;
  return "";
}

// Grows a pinned host buffer (async device-to-host copies need pinning).
std::string EnsurePinned(void** ptr, size_t* capacity, size_t bytes) {
  if (*capacity >= bytes) return "";
  if (*ptr != nullptr) cudaFreeHost(*ptr);
  *ptr = nullptr;
  *capacity = 0;
  RETURN_IF_CUDA_ERROR(cudaMallocHost(ptr, bytes), "cudaMallocHost");
  *capacity = bytes;
  return "";
}

struct Buffer {
  void* ptr = nullptr;
  size_t capacity = 0;
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

}  // namespace

struct SliceRunner::State {
  int device = 0;
  cudaStream_t stream = nullptr;
  bool owns_stream = true;
  FeatureSpec spec;
  // Device buffers.
  Buffer mean, weights, bias, features, logits, loss, labels, grad_weights,
      grad_bias, bad;
  // Pinned host buffers the results are copied into.
  Buffer host_grad_weights, host_grad_bias, host_loss, host_bad;
  // Shape of the slice in flight.
  int num_classes = 0;
  int n = 0;
};

int DeviceCount() {
  int count = 0;  // cudaGetDeviceCount leaves it unset on error.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // Clear the sticky-free error state.
    return 0;
  }
  return count;
}

std::string CreateStreams(int n, std::vector<void*>* streams) {
  for (int d = 0; d < n; ++d) {
    RETURN_IF_CUDA_ERROR(cudaSetDevice(d), "cudaSetDevice");
    cudaStream_t stream = nullptr;
    RETURN_IF_CUDA_ERROR(
        cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
        "cudaStreamCreateWithFlags");
    streams->push_back(stream);
  }
  return "";
}

void DestroyStreams(const std::vector<void*>& streams) {
  for (size_t d = 0; d < streams.size(); ++d) {
    cudaSetDevice(static_cast<int>(d));
    cudaStreamSynchronize(static_cast<cudaStream_t>(streams[d]));
    cudaStreamDestroy(static_cast<cudaStream_t>(streams[d]));
  }
}

std::string CopyToHost(int device, void* stream, const void* src, size_t bytes,
                       void* dst) {
  RETURN_IF_CUDA_ERROR(cudaSetDevice(device), "cudaSetDevice");
  if (stream == nullptr) {
    RETURN_IF_CUDA_ERROR(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost),
                         "cudaMemcpy device to host");
    return "";
  }
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  RETURN_IF_CUDA_ERROR(
      cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s),
      "cudaMemcpyAsync device to host");
  RETURN_IF_CUDA_ERROR(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  return "";
}

std::unique_ptr<SliceRunner> SliceRunner::Create(int device, std::string* error,
                                                 void* stream) {
  auto state = std::make_unique<State>();
  state->device = device;
  state->owns_stream = stream == nullptr;
  state->stream = static_cast<cudaStream_t>(stream);
  cudaError_t err = cudaSetDevice(device);
  if (err == cudaSuccess && state->owns_stream) {
    err = cudaStreamCreate(&state->stream);
  }
  if (err != cudaSuccess) {
    *error = Error("creating a stream on the GPU", err);
    return nullptr;
  }
  return std::unique_ptr<SliceRunner>(new SliceRunner(std::move(state)));
}

SliceRunner::SliceRunner(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

SliceRunner::~SliceRunner() {
  State& s = *state_;
  cudaSetDevice(s.device);
  if (s.stream != nullptr) cudaStreamSynchronize(s.stream);
  for (Buffer* b :
       {&s.mean, &s.weights, &s.bias, &s.features, &s.logits, &s.loss,
        &s.labels, &s.grad_weights, &s.grad_bias, &s.bad}) {
    if (b->ptr != nullptr) cudaFree(b->ptr);
  }
  for (Buffer* b :
       {&s.host_grad_weights, &s.host_grad_bias, &s.host_loss, &s.host_bad}) {
    if (b->ptr != nullptr) cudaFreeHost(b->ptr);
  }
  if (s.stream != nullptr && s.owns_stream) cudaStreamDestroy(s.stream);
}

std::string SliceRunner::SetFeatures(const FeatureSpec& spec,
                                     const float* mean) {
  State& s = *state_;
  s.spec = spec;
  const size_t bytes = sizeof(float) * spec.dim();
  RETURN_IF_CUDA_ERROR(cudaSetDevice(s.device), "cudaSetDevice");
  std::string err = EnsureDevice(&s.mean.ptr, &s.mean.capacity, bytes);
  if (!err.empty()) return err;
  RETURN_IF_CUDA_ERROR(
      cudaMemcpy(s.mean.ptr, mean, bytes, cudaMemcpyHostToDevice),
      "uploading the feature mean");
  return "";
}

std::string SliceRunner::Launch(const float* weights, const float* bias,
                                int num_classes, const uint8_t* images,
                                const int32_t* labels, bool labels_on_device,
                                int n) {
  State& s = *state_;
  const FeatureSpec& spec = s.spec;
  const int dim = spec.dim();
  const size_t k = static_cast<size_t>(num_classes);
  const size_t rows = static_cast<size_t>(n);
  RETURN_IF_CUDA_ERROR(cudaSetDevice(s.device), "cudaSetDevice");
  std::string err;
  struct Need {
    Buffer* buffer;
    size_t bytes;
    bool pinned;
  };
  for (const Need& need : {
           Need{&s.weights, sizeof(float) * k * dim, false},
           Need{&s.bias, sizeof(float) * k, false},
           Need{&s.features, sizeof(float) * rows * dim, false},
           Need{&s.logits, sizeof(float) * rows * k, false},
           Need{&s.loss, sizeof(float) * rows, false},
           Need{&s.labels, sizeof(int32_t) * rows, false},
           Need{&s.grad_weights, sizeof(float) * k * dim, false},
           Need{&s.grad_bias, sizeof(float) * k, false},
           Need{&s.bad, sizeof(int) * 2, false},
           Need{&s.host_grad_weights, sizeof(float) * k * dim, true},
           Need{&s.host_grad_bias, sizeof(float) * k, true},
           Need{&s.host_loss, sizeof(float) * rows, true},
           Need{&s.host_bad, sizeof(int) * 2, true},
       }) {
    err = need.pinned ? EnsurePinned(&need.buffer->ptr, &need.buffer->capacity,
                                     need.bytes)
                      : EnsureDevice(&need.buffer->ptr, &need.buffer->capacity,
                                     need.bytes);
    if (!err.empty()) return err;
  }
  s.num_classes = num_classes;
  s.n = n;
  cudaStream_t st = s.stream;
  RETURN_IF_CUDA_ERROR(
      cudaMemcpyAsync(s.weights.ptr, weights, sizeof(float) * k * dim,
                      cudaMemcpyHostToDevice, st),
      "uploading weights");
  RETURN_IF_CUDA_ERROR(cudaMemcpyAsync(s.bias.ptr, bias, sizeof(float) * k,
                                       cudaMemcpyHostToDevice, st),
                       "uploading bias");
  const int32_t* device_labels = labels;
  if (!labels_on_device) {
    RETURN_IF_CUDA_ERROR(
        cudaMemcpyAsync(s.labels.ptr, labels, sizeof(int32_t) * rows,
                        cudaMemcpyHostToDevice, st),
        "uploading labels");
    device_labels = s.labels.as<int32_t>();
  }
  RETURN_IF_CUDA_ERROR(cudaMemsetAsync(s.bad.ptr, 0xFF, sizeof(int) * 2, st),
                       "clearing the label check");
  if (n > 0) {
    FeaturizeKernel<<<Blocks(static_cast<int64_t>(n) * dim), kThreads, 0, st>>>(
        images, n, spec.height, spec.width, spec.channels, spec.pool,
        spec.out_width, dim, s.mean.as<float>(), s.features.as<float>());
    LogitsKernel<<<static_cast<unsigned>(rows * k), kThreads, 0, st>>>(
        s.features.as<float>(), s.weights.as<float>(), s.bias.as<float>(), dim,
        num_classes, s.logits.as<float>());
    SoftmaxKernel<<<Blocks(n), kThreads, 0, st>>>(
        device_labels, n, num_classes, s.logits.as<float>(), s.loss.as<float>(),
        s.bad.as<int>());
  }
  GradWeightsKernel<<<Blocks(static_cast<int64_t>(k) * dim), kThreads, 0, st>>>(
      s.logits.as<float>(), s.features.as<float>(), n, dim, num_classes,
      s.grad_weights.as<float>());
  GradBiasKernel<<<Blocks(num_classes), kThreads, 0, st>>>(
      s.logits.as<float>(), n, num_classes, s.grad_bias.as<float>());
  RETURN_IF_CUDA_ERROR(cudaGetLastError(), "launching kernels");
  struct Download {
    Buffer* host;
    const Buffer* device;
    size_t bytes;
  };
  for (const Download& d : {
           Download{&s.host_grad_weights, &s.grad_weights,
                    sizeof(float) * k * dim},
           Download{&s.host_grad_bias, &s.grad_bias, sizeof(float) * k},
           Download{&s.host_loss, &s.loss, sizeof(float) * rows},
           Download{&s.host_bad, &s.bad, sizeof(int) * 2},
       }) {
    RETURN_IF_CUDA_ERROR(cudaMemcpyAsync(d.host->ptr, d.device->ptr, d.bytes,
                                         cudaMemcpyDeviceToHost, st),
                         "downloading gradients");
  }
  return "";
}

std::string SliceRunner::Finish(float* grad_weights, float* grad_bias,
                                double* loss_sum, int* bad_index,
                                int* bad_label) {
  State& s = *state_;
  RETURN_IF_CUDA_ERROR(cudaSetDevice(s.device), "cudaSetDevice");
  RETURN_IF_CUDA_ERROR(cudaStreamSynchronize(s.stream),
                       "running the training step");
  const int* bad = s.host_bad.as<int>();
  *bad_index = bad[0];
  *bad_label = bad[1];
  if (bad[0] >= 0) return "";
  const size_t weights = static_cast<size_t>(s.num_classes) * s.spec.dim();
  const float* gw = s.host_grad_weights.as<float>();
  for (size_t i = 0; i < weights; ++i) grad_weights[i] += gw[i];
  const float* gb = s.host_grad_bias.as<float>();
  for (int k = 0; k < s.num_classes; ++k) grad_bias[k] += gb[k];
  const float* loss = s.host_loss.as<float>();
  for (int i = 0; i < s.n; ++i) *loss_sum += loss[i];
  return "";
}

}  // namespace inputserve::trainer::gpu
