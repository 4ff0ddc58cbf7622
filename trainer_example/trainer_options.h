// TrainerOptions: what trainer_example's flags ask for, read once in main()
// and validated here so every problem is named before anything connects.
#ifndef INPUTSERVE_TRAINER_EXAMPLE_TRAINER_OPTIONS_H_
#define INPUTSERVE_TRAINER_EXAMPLE_TRAINER_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "inputserve/options.h"

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
  // Data order, passed to the client's options of the same names. rank,
  // world_size, start_step and num_epochs other than the defaults need
  // kDeterministic.
  Ordering ordering = Ordering::kArrival;
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t start_step = 0;  // The first step's number; `steps` counts steps.
  int64_t num_epochs = 0;  // 0 = forever; else the run may end early.
  bool drop_remainder = true;
  // One line per step (StepDigestWriter); empty = none.
  std::string digest_file;
  // Not a flag: the CUDA stream per GPU that main() made and also gave the
  // client, so the step's kernels are ordered after the batch's copy (and
  // the client's next copies after the step). Empty on the CPU.
  std::vector<void*> cuda_streams;
};

// Splits "a:1,b:2" into targets. INVALID_ARGUMENT naming --servers when the
// list or one of its entries is empty, or an entry has no port.
absl::StatusOr<std::vector<std::string>> ParseServerList(
    absl::string_view servers);

// "arrival" or "deterministic"; INVALID_ARGUMENT naming --ordering else.
absl::StatusOr<Ordering> ParseOrdering(absl::string_view ordering);

// INVALID_ARGUMENT naming the first bad flag and its allowed range.
absl::Status ValidateTrainerOptions(const TrainerOptions& options);

}  // namespace inputserve::trainer

#endif  // INPUTSERVE_TRAINER_EXAMPLE_TRAINER_OPTIONS_H_
