#include "trainer_example/trainer.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "trainer_example/features.h"

namespace inputserve::trainer {
namespace {

const char* ModeName(BatchMode mode) {
  return mode == BatchMode::kSynthetic ? "synthetic" : "real";
}

const char* MemoryName(MemoryKind memory) {
  return memory == MemoryKind::kCuda ? "CUDA" : "host";
}

absl::Status WithContext(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(),
                      absl::StrCat(what, ": ", status.message()));
}

// Keras-style "[=====>......]" for `done` of `total`.
std::string ProgressBar(int done, int total) {
  constexpr int kWidth = 20;
  const int filled = static_cast<int>(static_cast<int64_t>(kWidth) * done /
                                      std::max(total, 1));
  std::string bar(kWidth, '.');
  std::fill(bar.begin(), bar.begin() + filled, '=');
  if (filled < kWidth) bar[filled] = '>';
  return absl::StrCat("[", bar, "]");
}

// Totals over a span of steps: one log window, or the measured run.
struct Span {
  int steps = 0;
  int64_t examples = 0;
  double loss_sum = 0;  // Sum of the steps' mean losses.
  absl::Duration wait;
  absl::Time start;

  void Reset(absl::Time now) {
    *this = Span{0, 0, 0, absl::ZeroDuration(), now};
  }
  double Seconds(absl::Time now) const {
    return absl::ToDoubleSeconds(now - start);
  }
  double ExamplesPerSec(absl::Time now) const {
    const double s = Seconds(now);
    return s > 0 ? examples / s : 0;
  }
  double WaitPct(absl::Time now) const {
    const double s = Seconds(now);
    return s > 0 ? std::min(100.0, 100.0 * absl::ToDoubleSeconds(wait) / s) : 0;
  }
};

// "step 20/100 [====>...] - loss: ... - mode: real": one window's line.
std::string ProgressLine(int step, int total, const Span& window,
                         absl::Time now, BatchMode mode) {
  return absl::StrFormat(
      "step %d/%d %s - loss: %.4f - %.1f examples/s - input wait: %.1f%% - "
      "mode: %s",
      step, total, ProgressBar(step, total), window.loss_sum / window.steps,
      window.ExamplesPerSec(now), window.WaitPct(now), ModeName(mode));
}

}  // namespace

std::string FormatSummaryLine(const TrainSummary& summary) {
  return absl::StrFormat(
      "SUMMARY steps=%d examples_per_sec=%.1f input_wait_pct=%.1f "
      "bytes_received=%d final_mode=%s",
      summary.steps, summary.examples_per_sec, summary.input_wait_pct,
      summary.bytes_received, ModeName(summary.final_mode));
}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(
    const TrainerOptions& options, Client* client, std::ostream* log,
    std::unique_ptr<StepDigestWriter> digest) {
  INPUTSERVE_RETURN_IF_ERROR(ValidateTrainerOptions(options));
  INPUTSERVE_ASSIGN_OR_RETURN(
      std::unique_ptr<GradientBackend> backend,
      MakeBackend(client->memory_kind(), options.cuda_streams));
  if (digest == nullptr && !options.digest_file.empty()) {
    INPUTSERVE_ASSIGN_OR_RETURN(digest,
                                StepDigestWriter::Open(options.digest_file));
  }
  return std::unique_ptr<Trainer>(
      new Trainer(options, client, log, std::move(backend), std::move(digest)));
}

Trainer::Trainer(const TrainerOptions& options, Client* client,
                 std::ostream* log, std::unique_ptr<GradientBackend> backend,
                 std::unique_ptr<StepDigestWriter> digest)
    : options_(options),
      client_(client),
      log_(log),
      backend_(std::move(backend)),
      digest_(std::move(digest)) {}

absl::StatusOr<std::vector<Slice>> Trainer::SlicesOf(const Batch& batch) const {
  if (batch.devices.empty()) {
    return absl::InvalidArgumentError("batch has no device slices");
  }
  std::vector<Slice> slices;
  for (const DeviceBatch& device : batch.devices) {
    Slice slice{device.Find("image"), device.Find("label")};
    const std::string where = absl::StrCat("device ", device.device, ": ");
    if (slice.images == nullptr || slice.labels == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "batch lacks the 'image' or 'label' tensor"));
    }
    const TensorView& im = *slice.images;
    const TensorView& lb = *slice.labels;
    if (im.dtype != ElementType::kUint8 || im.shape.size() != 4) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "'image' must be uint8 [B,H,W,C]"));
    }
    if (lb.dtype != ElementType::kInt32 || lb.shape.size() != 1 ||
        lb.shape[0] != im.shape[0]) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "'label' must be int32 [B] with B = the image batch ",
          im.shape[0]));
    }
    if (model_ && (im.shape[1] != spec_.height || im.shape[2] != spec_.width ||
                   im.shape[3] != spec_.channels)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "image shape changed to ", im.shape[1], "x",
                       im.shape[2], "x", im.shape[3], " from ", spec_.height,
                       "x", spec_.width, "x", spec_.channels));
    }
    slices.push_back(slice);
  }
  return slices;
}

absl::Status Trainer::Initialize(const Batch& batch,
                                 const std::vector<Slice>& slices) {
  const std::vector<int64_t>& shape = slices[0].images->shape;
  INPUTSERVE_ASSIGN_OR_RETURN(
      FeatureSpec spec,
      MakeFeatureSpec(static_cast<int>(shape[1]), static_cast<int>(shape[2]),
                      static_cast<int>(shape[3]), options_.feature_side));
  spec_ = spec;
  // The flag, else what the servers report, else a guess from the image
  // size for servers that do not say (CIFAR-10 or ImageNet).
  int num_classes = options_.num_classes;
  if (num_classes == 0) num_classes = client_->info().num_classes;
  if (num_classes == 0) {
    num_classes = (spec_.height == 32 && spec_.width == 32) ? 10 : 1001;
  }
  // The mean of the first batch's features, fixed for the whole run.
  std::vector<uint8_t> images;
  std::vector<double> sum(spec_.dim(), 0.0);
  int64_t count = 0;
  for (const Slice& slice : slices) {
    images.resize(slice.images->num_bytes);
    INPUTSERVE_RETURN_IF_ERROR(
        backend_->CopyToHost(*slice.images, images.data()));
    std::vector<float> mean = MeanFeatures(spec_, images.data(), slice.size());
    for (int j = 0; j < spec_.dim(); ++j) sum[j] += mean[j] * slice.size();
    count += slice.size();
  }
  std::vector<float> mean(spec_.dim());
  for (int j = 0; j < spec_.dim(); ++j) {
    mean[j] = static_cast<float>(sum[j] / std::max<int64_t>(count, 1));
  }
  INPUTSERVE_RETURN_IF_ERROR(backend_->SetFeatures(spec_, std::move(mean)));
  model_.emplace(spec_.dim(), num_classes);
  grads_.emplace(spec_.dim(), num_classes);
  *log_ << absl::StrFormat(
               "trainer_example: %d steps, global batch %d over %s, %s "
               "memory; features %dx%dx%d (images %dx%d average-pooled %dx%d) "
               "-> %d classes, lr %g",
               options_.steps, batch.global_batch_size,
               client_->num_devices() == 0
                   ? std::string("1 unsplit batch")
                   : absl::StrCat(client_->num_devices(), " devices"),
               MemoryName(backend_->memory()), spec_.out_height,
               spec_.out_width, spec_.channels, spec_.height, spec_.width,
               spec_.pool, spec_.pool, num_classes, options_.learning_rate)
        << std::endl;
  return absl::OkStatus();
}

absl::StatusOr<double> Trainer::TrainStep(const std::vector<Slice>& slices) {
  grads_->Reset();
  INPUTSERVE_RETURN_IF_ERROR(backend_->Step(*model_, slices, &*grads_));
  ApplySgd(*grads_, options_.learning_rate, &*model_);
  return grads_->examples > 0 ? grads_->loss_sum / grads_->examples : 0.0;
}

absl::StatusOr<TrainSummary> Trainer::Run() {
  TrainSummary summary;
  Span window, measured;
  window.Reset(absl::Now());
  measured.Reset(absl::Now());
  std::optional<BatchMode> last_mode;
  int steps_run = 0;
  for (int step = 1; step <= options_.steps; ++step) {
    const absl::Time before_next = absl::Now();
    absl::StatusOr<const Batch*> next = client_->Next();
    const absl::Duration waited = absl::Now() - before_next;
    if (absl::IsOutOfRange(next.status())) {
      *log_ << absl::StrFormat(
                   "step %d: the client's epochs are over (%s); stopping "
                   "after %d of %d steps",
                   step, next.status().message(), step - 1, options_.steps)
            << std::endl;
      break;
    }
    if (!next.ok()) {
      return WithContext(
          next.status(),
          absl::StrCat("step ", step, ": reading the next batch"));
    }
    const Batch& batch = **next;
    absl::StatusOr<std::vector<Slice>> slices = SlicesOf(batch);
    if (slices.ok() && !model_) {
      if (absl::Status s = Initialize(batch, *slices); !s.ok()) slices = s;
    }
    if (slices.ok() && digest_ != nullptr) {
      if (absl::Status s = digest_->Write(batch, backend_.get()); !s.ok()) {
        slices = s;
      }
    }
    absl::StatusOr<double> loss =
        slices.ok() ? TrainStep(*slices) : slices.status();
    if (!loss.ok()) {
      return WithContext(loss.status(), absl::StrCat("step ", step));
    }
    const absl::Time now = absl::Now();
    if (last_mode && *last_mode != batch.mode) {
      *log_ << absl::StrFormat(
                   "step %d: input mode changed %s -> %s "
                   "(generation %d)",
                   step, ModeName(*last_mode), ModeName(batch.mode),
                   batch.mode_generation)
            << std::endl;
    }
    last_mode = batch.mode;
    steps_run = step;
    if (step == 1) summary.first_loss = *loss;
    int64_t examples = 0;
    for (const Slice& slice : *slices) examples += slice.size();
    for (Span* span : {&window, &measured}) {
      ++span->steps;
      span->examples += examples;
      span->loss_sum += *loss;
      span->wait += waited;
    }
    if (step == 1 && options_.steps > 1) measured.Reset(now);
    if (step % options_.log_every == 0 || step == options_.steps) {
      *log_ << ProgressLine(step, options_.steps, window, now, batch.mode)
            << std::endl;
      summary.final_loss = window.loss_sum / window.steps;
      window.Reset(now);
    }
  }
  const absl::Time end = absl::Now();
  if (steps_run > 0 && steps_run < options_.steps && window.steps > 0) {
    // The epochs ended between progress lines: report the last window.
    *log_ << ProgressLine(steps_run, options_.steps, window, end, *last_mode)
          << std::endl;
    summary.final_loss = window.loss_sum / window.steps;
  }
  summary.steps = steps_run;
  summary.examples_per_sec = measured.ExamplesPerSec(end);
  summary.input_wait_pct = measured.WaitPct(end);
  summary.bytes_received = client_->stats().bytes_received;
  summary.final_mode = last_mode.value_or(BatchMode::kReal);
  return summary;
}

}  // namespace inputserve::trainer
