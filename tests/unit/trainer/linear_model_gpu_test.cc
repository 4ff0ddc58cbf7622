// The CUDA forward/backward against the CPU oracle. Skips itself where no GPU
// is usable (every test here needs one), so CPU-only machines pass.
#include "trainer_example/linear_model_gpu.h"

#include <cuda_runtime.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "trainer_example/features.h"
#include "trainer_example/linear_model.h"

namespace inputserve::trainer {
namespace {

class LinearModelGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (gpu::DeviceCount() == 0) GTEST_SKIP() << "no usable GPU";
  }
};

// Device copy of a host vector, freed with the test.
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(const std::vector<T>& host) {
    EXPECT_EQ(cudaMalloc(&ptr_, host.size() * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(ptr_, host.data(), host.size() * sizeof(T),
                         cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  ~DeviceArray() { cudaFree(ptr_); }
  T* get() const { return static_cast<T*>(ptr_); }

 private:
  void* ptr_ = nullptr;
};

TEST_F(LinearModelGpuTest, MatchesTheCpuOracle) {
  constexpr int kN = 6, kClasses = 5;
  absl::StatusOr<FeatureSpec> spec = MakeFeatureSpec(12, 10, 3, 4);
  ASSERT_TRUE(spec.ok());
  std::mt19937 rng(11);
  std::vector<uint8_t> images(kN * spec->image_bytes());
  for (uint8_t& p : images) p = static_cast<uint8_t>(rng() % 256);
  std::vector<int32_t> labels = {0, 4, 2, 2, 1, 3};
  std::vector<float> mean = MeanFeatures(*spec, images.data(), kN);
  LinearModel model(spec->dim(), kClasses);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (float& w : model.weights) w = normal(rng);
  for (float& b : model.bias) b = normal(rng);

  std::vector<float> features(kN * spec->dim());
  FeaturizeCpu(*spec, images.data(), kN, mean.data(), features.data());
  Gradients cpu(spec->dim(), kClasses);
  ASSERT_TRUE(
      AccumulateGradientsCpu(model, features.data(), labels.data(), kN, &cpu)
          .ok());

  DeviceArray<uint8_t> d_images(images);
  DeviceArray<int32_t> d_labels(labels);
  std::string err;
  std::unique_ptr<gpu::SliceRunner> runner = gpu::SliceRunner::Create(0, &err);
  ASSERT_NE(runner, nullptr) << err;
  ASSERT_EQ(runner->SetFeatures(*spec, mean.data()), "");
  for (bool labels_on_device : {true, false}) {
    Gradients g(spec->dim(), kClasses);
    ASSERT_EQ(runner->Launch(model.weights.data(), model.bias.data(), kClasses,
                             d_images.get(),
                             labels_on_device ? d_labels.get() : labels.data(),
                             labels_on_device, kN),
              "");
    int bad_index = 0, bad_label = 0;
    ASSERT_EQ(runner->Finish(g.weights.data(), g.bias.data(), &g.loss_sum,
                             &bad_index, &bad_label),
              "");
    EXPECT_EQ(bad_index, -1);
    EXPECT_NEAR(g.loss_sum, cpu.loss_sum, 1e-3);
    for (size_t i = 0; i < g.weights.size(); ++i) {
      ASSERT_NEAR(g.weights[i], cpu.weights[i], 1e-4) << i;
    }
    for (int k = 0; k < kClasses; ++k)
      EXPECT_NEAR(g.bias[k], cpu.bias[k], 1e-4);
  }
}

TEST_F(LinearModelGpuTest, ReportsAnOutOfRangeLabel) {
  absl::StatusOr<FeatureSpec> spec = MakeFeatureSpec(4, 4, 3, 4);
  ASSERT_TRUE(spec.ok());
  std::vector<uint8_t> images(2 * spec->image_bytes(), 100);
  std::vector<int32_t> labels = {1, 9};
  std::vector<float> mean(spec->dim(), 0.0f);
  LinearModel model(spec->dim(), 3);
  DeviceArray<uint8_t> d_images(images);
  std::string err;
  std::unique_ptr<gpu::SliceRunner> runner = gpu::SliceRunner::Create(0, &err);
  ASSERT_NE(runner, nullptr) << err;
  ASSERT_EQ(runner->SetFeatures(*spec, mean.data()), "");
  ASSERT_EQ(runner->Launch(model.weights.data(), model.bias.data(), 3,
                           d_images.get(), labels.data(), false, 2),
            "");
  Gradients g(spec->dim(), 3);
  int bad_index = -1, bad_label = 0;
  ASSERT_EQ(runner->Finish(g.weights.data(), g.bias.data(), &g.loss_sum,
                           &bad_index, &bad_label),
            "");
  EXPECT_EQ(bad_index, 1);
  EXPECT_EQ(bad_label, 9);
  EXPECT_EQ(g.loss_sum, 0.0);
}

}  // namespace
}  // namespace inputserve::trainer
