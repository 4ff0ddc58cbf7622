// TrainerOptions: what trainer_example's flags ask for, read once in main()
// and validated here so every problem is named before anything connects.
#ifndef INPUTSERVE_TRAINER_EXAMPLE_TRAINER_OPTIONS_H_
#define INPUTSERVE_TRAINER_EXAMPLE_TRAINER_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inputserve::trainer {

struct TrainerOptions {
  std::vector<std::string> servers;  // Client targets, "host:port" etc.
  int steps = 0;                     // Training steps to run (> 0).
  int num_gpus = 0;                  // 0 = one unsplit host batch.
  int log_every = 10;                // Progress line every K steps.
  float learning_rate = 0.05f;
  // 0 = from the image size: 10 for 32x32 (CIFAR-10), else 1001 (ImageNet
  // labels run 0..1000).
  int num_classes = 0;
  int feature_side = 32;  // Images are average-pooled to at most this side.
  // Not a flag: the CUDA stream per GPU that main() made and also gave the
  // client, so the step's kernels are ordered after the batch's copy (and
  // the client's next copies after the step). Empty on the CPU.
  std::vector<void*> cuda_streams;
};

// Splits "a:1,b:2" into targets. INVALID_ARGUMENT naming --servers when the
// list or one of its entries is empty, or an entry has no port.
absl::StatusOr<std::vector<std::string>> ParseServerList(
    absl::string_view servers);

// INVALID_ARGUMENT naming the first bad flag and its allowed range.
absl::Status ValidateTrainerOptions(const TrainerOptions& options);

}  // namespace inputserve::trainer

#endif  // INPUTSERVE_TRAINER_EXAMPLE_TRAINER_OPTIONS_H_
