#include "trainer_example/linear_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace inputserve::trainer {
namespace {

// Eight independent partial sums: without -ffast-math the compiler may not
// reorder one float accumulator, so this is what lets the loop vectorize.
float Dot(const float* a, const float* b, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
              ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace

LinearModel::LinearModel(int num_features, int num_classes)
    : num_features(num_features),
      num_classes(num_classes),
      // Zero start: the loss is convex, so no symmetry needs breaking, and
      // the first loss is exactly log(num_classes).
      weights(static_cast<size_t>(num_features) * num_classes, 0.0f),
      bias(num_classes, 0.0f) {}

Gradients::Gradients(int num_features, int num_classes)
    : weights(static_cast<size_t>(num_features) * num_classes, 0.0f),
      bias(num_classes, 0.0f) {}

void Gradients::Reset() {
  std::fill(weights.begin(), weights.end(), 0.0f);
  std::fill(bias.begin(), bias.end(), 0.0f);
  loss_sum = 0;
  examples = 0;
}

void Gradients::Add(const Gradients& other) {
  for (size_t i = 0; i < weights.size(); ++i) weights[i] += other.weights[i];
  for (size_t i = 0; i < bias.size(); ++i) bias[i] += other.bias[i];
  loss_sum += other.loss_sum;
  examples += other.examples;
}

absl::Status AccumulateGradientsCpu(const LinearModel& model,
                                    const float* features,
                                    const int32_t* labels, int n,
                                    Gradients* grads) {
  const int d_count = model.num_features;
  const int k_count = model.num_classes;
  // Check every label first so a bad batch leaves `grads` untouched.
  for (int i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= k_count) {
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", labels[i], " of example ", i, " is outside [0, ", k_count,
          "); set --num_classes to the dataset's class count"));
    }
  }
  std::vector<float> logits(k_count);
  for (int i = 0; i < n; ++i) {
    const int32_t label = labels[i];
    const float* f = features + static_cast<int64_t>(i) * d_count;
    float max_logit = -INFINITY;
    for (int k = 0; k < k_count; ++k) {
      const float* w = model.weights.data() + static_cast<int64_t>(k) * d_count;
      logits[k] = Dot(w, f, d_count) + model.bias[k];
      max_logit = std::max(max_logit, logits[k]);
    }
    // Log-sum-exp around the max keeps exp() finite for any logits.
    double sum_exp = 0;
    for (int k = 0; k < k_count; ++k)
      sum_exp += std::exp(logits[k] - max_logit);
    const double log_z = max_logit + std::log(sum_exp);
    grads->loss_sum += log_z - logits[label];
    for (int k = 0; k < k_count; ++k) {
      // d(loss)/d(logit_k) = softmax_k - [k == label].
      const float delta = static_cast<float>(std::exp(logits[k] - log_z)) -
                          (k == label ? 1.0f : 0.0f);
      float* g = grads->weights.data() + static_cast<int64_t>(k) * d_count;
      for (int d = 0; d < d_count; ++d) g[d] += delta * f[d];
      grads->bias[k] += delta;
    }
  }
  grads->examples += n;
  return absl::OkStatus();
}

void ApplySgd(const Gradients& grads, float learning_rate, LinearModel* model) {
  if (grads.examples == 0) return;
  const float step = learning_rate / static_cast<float>(grads.examples);
  for (size_t i = 0; i < model->weights.size(); ++i) {
    model->weights[i] -= step * grads.weights[i];
  }
  for (size_t i = 0; i < model->bias.size(); ++i) {
    model->bias[i] -= step * grads.bias[i];
  }
}

}  // namespace inputserve::trainer
