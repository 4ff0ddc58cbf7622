#include "trainer_example/linear_model.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace inputserve::trainer {
namespace {

using ::inputserve::testing::StatusIs;
using ::testing::HasSubstr;

double MeanLoss(const LinearModel& model, const std::vector<float>& features,
                const std::vector<int32_t>& labels) {
  Gradients g(model.num_features, model.num_classes);
  absl::Status s = AccumulateGradientsCpu(model, features.data(), labels.data(),
                                          static_cast<int>(labels.size()), &g);
  EXPECT_TRUE(s.ok()) << s;
  return g.loss_sum / g.examples;
}

TEST(LinearModelTest, ZeroModelLossIsLogClasses) {
  LinearModel model(3, 4);
  const std::vector<float> features = {1, 2, 3, -1, 0, 1};
  const std::vector<int32_t> labels = {0, 3};
  EXPECT_NEAR(MeanLoss(model, features, labels), std::log(4.0), 1e-6);
}

TEST(LinearModelTest, GradientMatchesFiniteDifferences) {
  constexpr int kFeatures = 5, kClasses = 3, kExamples = 4;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  LinearModel model(kFeatures, kClasses);
  for (float& w : model.weights) w = normal(rng);
  for (float& b : model.bias) b = normal(rng);
  std::vector<float> features(kExamples * kFeatures);
  for (float& f : features) f = normal(rng);
  const std::vector<int32_t> labels = {0, 2, 1, 2};

  Gradients grads(kFeatures, kClasses);
  ASSERT_TRUE(AccumulateGradientsCpu(model, features.data(), labels.data(),
                                     kExamples, &grads)
                  .ok());
  ASSERT_EQ(grads.examples, kExamples);

  // Central differences of the mean loss; float math, so a loose tolerance.
  constexpr float kEps = 1e-2f;
  auto check = [&](std::vector<float>* params, const std::vector<float>& g,
                   const char* name) {
    for (size_t i = 0; i < params->size(); ++i) {
      const float saved = (*params)[i];
      (*params)[i] = saved + kEps;
      const double up = MeanLoss(model, features, labels);
      (*params)[i] = saved - kEps;
      const double down = MeanLoss(model, features, labels);
      (*params)[i] = saved;
      const double numeric = (up - down) / (2 * kEps);
      EXPECT_NEAR(g[i] / kExamples, numeric, 2e-3) << name << "[" << i << "]";
    }
  };
  check(&model.weights, grads.weights, "weights");
  check(&model.bias, grads.bias, "bias");
}

TEST(LinearModelTest, SgdLearnsASeparableSet) {
  // Two clusters per class in 8 dimensions: class k has feature k at +1.
  constexpr int kFeatures = 8, kClasses = 4, kExamples = 64;
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 0.2f);
  std::vector<float> features(kExamples * kFeatures);
  std::vector<int32_t> labels(kExamples);
  for (int i = 0; i < kExamples; ++i) {
    labels[i] = i % kClasses;
    for (int d = 0; d < kFeatures; ++d) {
      features[i * kFeatures + d] = noise(rng) + (d == labels[i] ? 1.0f : 0.0f);
    }
  }
  LinearModel model(kFeatures, kClasses);
  Gradients grads(kFeatures, kClasses);
  const double initial = MeanLoss(model, features, labels);
  for (int step = 0; step < 200; ++step) {
    grads.Reset();
    ASSERT_TRUE(AccumulateGradientsCpu(model, features.data(), labels.data(),
                                       kExamples, &grads)
                    .ok());
    ApplySgd(grads, 0.5f, &model);
  }
  const double final_loss = MeanLoss(model, features, labels);
  EXPECT_LT(final_loss, initial * 0.2) << "initial " << initial;
  // And it classifies every training example correctly.
  for (int i = 0; i < kExamples; ++i) {
    int best = 0;
    float best_logit = -INFINITY;
    for (int k = 0; k < kClasses; ++k) {
      float logit = model.bias[k];
      for (int d = 0; d < kFeatures; ++d) {
        logit += model.weights[k * kFeatures + d] * features[i * kFeatures + d];
      }
      if (logit > best_logit) best_logit = logit, best = k;
    }
    EXPECT_EQ(best, labels[i]) << "example " << i;
  }
}

TEST(LinearModelTest, SlicesSumToTheWholeBatch) {
  // Gradients of two halves added equal those of the whole batch: the
  // property multi-device averaging relies on.
  LinearModel model(2, 2);
  model.weights = {0.5f, -0.25f, 0.1f, 0.3f};
  const std::vector<float> features = {1, 0, 0, 1, 1, 1, -1, 2};
  const std::vector<int32_t> labels = {0, 1, 1, 0};
  Gradients whole(2, 2), halves(2, 2), second(2, 2);
  ASSERT_TRUE(
      AccumulateGradientsCpu(model, features.data(), labels.data(), 4, &whole)
          .ok());
  ASSERT_TRUE(
      AccumulateGradientsCpu(model, features.data(), labels.data(), 2, &halves)
          .ok());
  ASSERT_TRUE(AccumulateGradientsCpu(model, features.data() + 4,
                                     labels.data() + 2, 2, &second)
                  .ok());
  halves.Add(second);
  EXPECT_EQ(halves.examples, 4);
  EXPECT_NEAR(halves.loss_sum, whole.loss_sum, 1e-5);
  for (size_t i = 0; i < whole.weights.size(); ++i) {
    EXPECT_NEAR(halves.weights[i], whole.weights[i], 1e-5);
  }
}

TEST(LinearModelTest, LabelOutOfRangeIsNamedAndLeavesGradientsAlone) {
  LinearModel model(1, 3);
  const std::vector<float> features = {1, 1};
  const std::vector<int32_t> labels = {1, 7};
  Gradients grads(1, 3);
  absl::Status s =
      AccumulateGradientsCpu(model, features.data(), labels.data(), 2, &grads);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("label 7 of example 1")))
      << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("--num_classes")) << s;
  EXPECT_EQ(grads.examples, 0);
  EXPECT_EQ(grads.bias[1], 0.0f);
}

TEST(LinearModelTest, SgdOnEmptyGradientsIsANoOp) {
  LinearModel model(1, 2);
  model.bias = {1, 2};
  Gradients grads(1, 2);
  ApplySgd(grads, 1.0f, &model);
  EXPECT_EQ(model.bias[0], 1.0f);
  EXPECT_EQ(model.bias[1], 2.0f);
}

}  // namespace
}  // namespace inputserve::trainer
