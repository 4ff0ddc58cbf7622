// FakeClient: an inputserve::Client that makes class-structured batches in
// host memory, so the Trainer can be tested without a server. Scripted mode
// changes, failures and input delays. Not thread-safe (like Next()).
#ifndef INPUTSERVE_TESTS_UNIT_TRAINER_FAKE_CLIENT_H_
#define INPUTSERVE_TESTS_UNIT_TRAINER_FAKE_CLIENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "inputserve/client.h"

namespace inputserve::trainer::testing {

struct FakeClientOptions {
  int batch_size = 32;
  int num_devices = 0;
  int height = 8, width = 8, channels = 3;
  int num_classes = 4;
  // What info().num_classes reports (0: the server does not know).
  int info_num_classes = 0;
  // Labels are drawn from [0, label_limit); label_limit > num_classes makes
  // out-of-range labels. 0 = num_classes.
  int label_limit = 0;
  MemoryKind memory = MemoryKind::kHost;
  // From this 1-based call of Next() on, batches are synthetic.
  int synthetic_from = 0;  // 0 = never.
  // This 1-based call of Next() fails with `failure`.
  int fail_at = 0;
  absl::Status failure = absl::UnavailableError("server went away");
  absl::Duration delay;      // Sleep inside Next() (input wait).
  bool omit_labels = false;  // Leave the "label" tensor out.
  // After this many batches Next() returns OUT_OF_RANGE, as a client does
  // at the end of its epochs. 0 = never; negative = from the first call.
  int end_after = 0;
  // Batch::step of the first batch (then +1 per call); epoch = step / 10.
  uint64_t first_step = 0;
  uint32_t seed = 1;
};

class FakeClient final : public Client {
 public:
  explicit FakeClient(FakeClientOptions options);

  absl::StatusOr<const Batch*> Next() override;
  // The fake's batches are valid until the next call, as with Next().
  absl::StatusOr<std::shared_ptr<const Batch>> TryNextShared(
      absl::Duration max_wait) override;
  const DatasetInfo& info() const override { return info_; }
  ClientStats stats() const override { return stats_; }
  int batch_size() const override { return options_.batch_size; }
  int num_devices() const override { return options_.num_devices; }
  MemoryKind memory_kind() const override { return options_.memory; }

 private:
  FakeClientOptions options_;
  uint32_t rng_;
  int calls_ = 0;
  std::vector<uint8_t> images_;
  std::vector<int32_t> labels_;
  Batch batch_;
  DatasetInfo info_;
  ClientStats stats_;
};

}  // namespace inputserve::trainer::testing

#endif  // INPUTSERVE_TESTS_UNIT_TRAINER_FAKE_CLIENT_H_
