// StepDigestWriter: --digest_file, one line per step a trainer consumed:
// "<step> <epoch> <sha256 hex of the payload> <labels, comma-separated>".
// The payload is every tensor in the server's order, each the concatenation
// of the devices' slices (so the digest is the same for any --num_gpus).
// Not thread-safe: the trainer thread owns its writer.
#ifndef INPUTSERVE_TRAINER_EXAMPLE_STEP_DIGEST_H_
#define INPUTSERVE_TRAINER_EXAMPLE_STEP_DIGEST_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "inputserve/batch.h"
#include "trainer_example/gradient_backend.h"

namespace inputserve::trainer {

// The line for `batch` (without the newline); tensors are copied to host
// memory through `backend`. INVALID_ARGUMENT when the devices' tensor
// lists differ or a "label" tensor is not int32.
absl::StatusOr<std::string> StepDigestLine(const Batch& batch,
                                           GradientBackend* backend);

class StepDigestWriter {
 public:
  // Creates or truncates `path`; INVALID_ARGUMENT naming --digest_file and
  // the system's reason when it cannot.
  static absl::StatusOr<std::unique_ptr<StepDigestWriter>> Open(
      const std::string& path);
  ~StepDigestWriter();
  StepDigestWriter(const StepDigestWriter&) = delete;
  StepDigestWriter& operator=(const StepDigestWriter&) = delete;

  // Appends the step's line and flushes it, so a killed trainer leaves
  // whole lines behind.
  absl::Status Write(const Batch& batch, GradientBackend* backend);

 private:
  StepDigestWriter(std::string path, std::FILE* file)
      : path_(std::move(path)), file_(file) {}

  const std::string path_;
  std::FILE* const file_;
};

}  // namespace inputserve::trainer

#endif  // INPUTSERVE_TRAINER_EXAMPLE_STEP_DIGEST_H_
