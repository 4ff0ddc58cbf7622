// Trainer: the training loop of trainer_example. Pulls each global batch from
// an inputserve::Client, runs forward/backward on every device's slice
// (GradientBackend), averages the gradients on the host, takes an SGD step,
// and reports Keras-style progress and the time spent waiting for input.
// Not thread-safe: Run() drives the Client from the calling thread.
#ifndef INPUTSERVE_TRAINER_EXAMPLE_TRAINER_H_
#define INPUTSERVE_TRAINER_EXAMPLE_TRAINER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "inputserve/batch.h"
#include "inputserve/client.h"
#include "trainer_example/feature_spec.h"
#include "trainer_example/gradient_backend.h"
#include "trainer_example/linear_model.h"
#include "trainer_example/step_digest.h"
#include "trainer_example/trainer_options.h"

namespace inputserve::trainer {

struct TrainSummary {
  int steps = 0;  // Steps run: options.steps unless the epochs ended first.
  // Over steps 2..N (the first step includes connecting and the first
  // batch's round trip, like the warm-up Keras benchmarks leave out); over
  // step 1 alone when steps = 1.
  double examples_per_sec = 0;
  double input_wait_pct = 0;    // Share of that time spent inside Next().
  uint64_t bytes_received = 0;  // ClientStats::bytes_received, whole run.
  BatchMode final_mode = BatchMode::kReal;
  double first_loss = 0;  // Mean cross-entropy of step 1.
  double final_loss = 0;  // Mean cross-entropy over the last log window.
};

// "SUMMARY steps=... examples_per_sec=... input_wait_pct=... bytes_received=...
// final_mode=real|synthetic": the machine-readable line of docs/contract.md.
std::string FormatSummaryLine(const TrainSummary& summary);

class Trainer {
 public:
  // `client` must outlive the Trainer; progress lines go to `log`. Digest
  // lines go to `digest`, else to options.digest_file opened here (callers
  // that want a bad path named before connecting open it first).
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(
      const TrainerOptions& options, Client* client, std::ostream* log,
      std::unique_ptr<StepDigestWriter> digest = nullptr);

  // Runs options.steps steps, fewer when the client reports the end of its
  // epochs (OUT_OF_RANGE), which is not an error. With options.digest_file,
  // writes each step's digest line. Errors carry the step they happened at.
  absl::StatusOr<TrainSummary> Run();

  // The model after Run() (for tests); null before the first batch.
  const LinearModel* model() const { return model_ ? &*model_ : nullptr; }

 private:
  Trainer(const TrainerOptions& options, Client* client, std::ostream* log,
          std::unique_ptr<GradientBackend> backend,
          std::unique_ptr<StepDigestWriter> digest);

  // Finds and checks each device's image and label tensors.
  absl::StatusOr<std::vector<Slice>> SlicesOf(const Batch& batch) const;
  // On the first batch: fixes features, class count and the feature mean.
  absl::Status Initialize(const Batch& batch, const std::vector<Slice>& slices);
  absl::StatusOr<double> TrainStep(const std::vector<Slice>& slices);

  const TrainerOptions options_;
  Client* const client_;
  std::ostream* const log_;
  std::unique_ptr<GradientBackend> backend_;
  std::unique_ptr<StepDigestWriter> digest_;  // Null without --digest_file.
  FeatureSpec spec_;
  std::optional<LinearModel> model_;
  std::optional<Gradients> grads_;
};

}  // namespace inputserve::trainer

#endif  // INPUTSERVE_TRAINER_EXAMPLE_TRAINER_H_
