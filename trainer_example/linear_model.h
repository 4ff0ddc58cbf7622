// A softmax (multinomial logistic) classifier over feature vectors, trained
// with SGD on the cross-entropy loss. The CPU forward/backward here is also
// the oracle the CUDA version is tested against. Not thread-safe: one
// trainer thread owns the model and its gradients.
#ifndef INPUTSERVE_TRAINER_EXAMPLE_LINEAR_MODEL_H_
#define INPUTSERVE_TRAINER_EXAMPLE_LINEAR_MODEL_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace inputserve::trainer {

// logits = weights * features + bias.
struct LinearModel {
  LinearModel(int num_features, int num_classes);

  int num_features;
  int num_classes;
  std::vector<float> weights;  // [num_classes, num_features], row-major.
  std::vector<float> bias;     // [num_classes].
};

// Sums over examples, so slices from several devices add up before the one
// division by the global example count (that is the gradient average).
struct Gradients {
  Gradients(int num_features, int num_classes);
  void Reset();
  void Add(const Gradients& other);

  std::vector<float> weights;
  std::vector<float> bias;
  double loss_sum = 0;
  int64_t examples = 0;
};

// Adds, for each of the n examples, d(cross-entropy)/d(params) and the loss
// to `grads`. features: n x num_features floats. INVALID_ARGUMENT when a
// label is outside [0, num_classes) (it names the label and its index).
absl::Status AccumulateGradientsCpu(const LinearModel& model,
                                    const float* features,
                                    const int32_t* labels, int n,
                                    Gradients* grads);

// params -= learning_rate * (grads / grads.examples). No-op when empty.
void ApplySgd(const Gradients& grads, float learning_rate, LinearModel* model);

}  // namespace inputserve::trainer

#endif  // INPUTSERVE_TRAINER_EXAMPLE_LINEAR_MODEL_H_
