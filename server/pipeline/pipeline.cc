#include "server/pipeline/pipeline.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "server/codec/rng.h"
#include "server/log.h"

namespace inputserve {
namespace {

// Fails the pipeline when this many records in a row could not be decoded:
// the data is unusable, and spinning through it forever helps nobody.
constexpr uint64_t kMaxConsecutiveDecodeFailures = 10000;

}  // namespace

uint64_t ExampleSeed(uint64_t seed, uint64_t epoch, uint64_t index) {
  return MixSeed(MixSeed(seed, epoch), index);
}

// Counts skipped records by reason and logs the first skip of each file.
class Pipeline::Skips : public SkipSink {
 public:
  explicit Skips(ServerMetrics* metrics) : metrics_(metrics) {}

  void OnSkip(absl::string_view reason, absl::string_view file,
              uint64_t offset, absl::string_view detail) override {
    metrics_->records_skipped(reason).Increment();
    bool first;
    {
      absl::MutexLock lock(&mu_);
      first = logged_files_.insert(std::string(file)).second;
    }
    if (first) {
      LogWarning("skipping bad record (", reason, ") in '", file,
                 "' at offset ", offset, ": ", detail,
                 "; further skips in this file are counted in "
                 "inputserve_records_skipped_total, not logged");
    }
  }

 private:
  ServerMetrics* const metrics_;
  absl::Mutex mu_;
  std::set<std::string> logged_files_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(
    std::unique_ptr<Dataset> dataset, const PipelineOptions& options,
    ServerMetrics* metrics) {
  if (dataset == nullptr || metrics == nullptr) {
    return absl::InvalidArgumentError("pipeline needs a dataset and metrics");
  }
  if (options.batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size must be positive, got ", options.batch_size));
  }
  const ExampleShape shape = dataset->shape();
  if (shape.height <= 0 || shape.width <= 0 || shape.channels <= 0) {
    return absl::InvalidArgumentError("dataset has an empty example shape");
  }
  std::unique_ptr<Pipeline> pipeline(
      new Pipeline(std::move(dataset), options, metrics));
  pipeline->Start();
  return pipeline;
}

Pipeline::Pipeline(std::unique_ptr<Dataset> dataset,
                   const PipelineOptions& options, ServerMetrics* metrics)
    : options_(options),
      dataset_(std::move(dataset)),
      metrics_(metrics),
      shape_(dataset_->shape()),
      queue_(options.prefetch_batches,
             [metrics](size_t depth) {
               metrics->prefetch_queue_depth().Set(static_cast<double>(depth));
             }),
      skips_(std::make_unique<Skips>(metrics)),
      shuffle_rng_(options.seed) {
  const int64_t b = options_.batch_size;
  layouts_.push_back(
      TensorLayout{"image",
                   ElementType::kUint8,
                   {b, shape_.height, shape_.width, shape_.channels}});
  layouts_.push_back(TensorLayout{"label", ElementType::kInt32, {b}});
  for (const TensorLayout& t : layouts_) payload_bytes_ += t.num_bytes();
  // Enough idle buffers for a full queue plus those still being sent.
  payloads_ = PayloadPool::Create(payload_bytes_,
                                  static_cast<size_t>(options_.prefetch_batches) + 4);
}

void Pipeline::Start() {
  reader_ = dataset_->NewReader(skips_.get());
  pool_ = std::make_unique<DecodePool>(*dataset_, options_.decode_threads);
  builder_ = std::thread([this] { BuilderLoop(); });
}

Pipeline::~Pipeline() { Stop(); }

void Pipeline::Stop() {
  if (stopped_.exchange(true)) return;
  queue_.Close();
  if (builder_.joinable()) builder_.join();
  if (pool_ != nullptr) pool_->Stop();
}

void Pipeline::Fail(const absl::Status& status) {
  LogError("pipeline stopped: ", status.ToString());
  {
    absl::MutexLock lock(&state_mu_);
    if (status_.ok()) status_ = status;
  }
  queue_.Close();
}

absl::Status Pipeline::status() const {
  absl::MutexLock lock(&state_mu_);
  return status_;
}

absl::StatusOr<BatchPtr> Pipeline::FirstBatch(absl::Duration timeout) {
  absl::MutexLock lock(&state_mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_mu_) {
    return first_batch_ != nullptr || !status_.ok();
  };
  if (!state_mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the pipeline built no batch within ", absl::FormatDuration(timeout)));
  }
  if (first_batch_ != nullptr) return first_batch_;
  return status_;
}

void Pipeline::BuilderLoop() {
  if (absl::Status s = reader_->StartEpoch(0); !s.ok()) {
    Fail(s);
    return;
  }
  for (uint64_t sequence = 0;; ++sequence) {
    if (queue_.closed()) return;
    absl::StatusOr<BatchPtr> batch = BuildBatch(sequence);
    if (!batch.ok()) {
      if (!queue_.closed()) Fail(batch.status());
      return;
    }
    if (sequence == 0) {
      absl::MutexLock lock(&state_mu_);
      first_batch_ = *batch;
    }
    if (!queue_.Push(*std::move(batch))) return;
  }
}

absl::StatusOr<BatchPtr> Pipeline::BuildBatch(uint64_t sequence) {
  const absl::Time start = absl::Now();
  const size_t b = options_.batch_size;
  const size_t image_bytes = shape_.image_bytes();
  std::shared_ptr<PayloadBuffer> payload = payloads_->Acquire();
  // Labels follow the images in the payload and need not be 4-byte aligned,
  // so they are decoded into an aligned array and copied in at the end.
  std::vector<int32_t> labels(b);

  auto batch = std::make_shared<PipelineBatch>();
  batch->sequence = sequence;
  batch->tensors = layouts_;

  size_t filled = 0;
  std::vector<Shuffled> group;
  while (filled < b) {
    if (queue_.closed()) return absl::CancelledError("pipeline stopped");
    group.clear();
    for (size_t i = filled; i < b; ++i) {
      INPUTSERVE_ASSIGN_OR_RETURN(Shuffled next, NextRecord());
      group.push_back(std::move(next));
    }
    if (filled == 0) batch->epoch = group.front().epoch;
    const size_t ok = DecodeInto(group, payload->data() + filled * image_bytes,
                                 labels.data() + filled);
    filled += ok;
    metrics_->examples_decoded().Increment(static_cast<double>(ok));
    if (ok < group.size()) {
      const size_t failed = group.size() - ok;
      metrics_->decode_errors().Increment(static_cast<double>(failed));
      metrics_->records_skipped("decode_error")
          .Increment(static_cast<double>(failed));
      consecutive_decode_failures_ = ok == 0 ? consecutive_decode_failures_ +
                                                   failed
                                             : 0;
      if (consecutive_decode_failures_ >= kMaxConsecutiveDecodeFailures) {
        return absl::FailedPreconditionError(absl::StrCat(
            consecutive_decode_failures_,
            " records in a row failed to decode; the dataset is unusable"));
      }
    } else {
      consecutive_decode_failures_ = 0;
    }
  }
  std::memcpy(payload->data() + b * image_bytes, labels.data(),
              b * sizeof(int32_t));
  batch->payload = std::move(payload);
  metrics_->batch_build_seconds().Observe(
      absl::ToDoubleSeconds(absl::Now() - start));
  return batch;
}

absl::Status Pipeline::FillShuffleBuffer() {
  const size_t capacity = std::max(1, options_.shuffle_buffer);
  while (shuffle_buffer_.size() < capacity && !reader_epoch_done_) {
    absl::StatusOr<RawExample> raw = reader_->Next();
    if (absl::IsOutOfRange(raw.status())) {
      reader_epoch_done_ = true;
      break;
    }
    if (!raw.ok()) return raw.status();
    ++records_this_epoch_;
    shuffle_buffer_.push_back(Shuffled{*std::move(raw), reader_epoch_});
  }
  return absl::OkStatus();
}

absl::StatusOr<Pipeline::Shuffled> Pipeline::NextShuffled() {
  for (;;) {
    INPUTSERVE_RETURN_IF_ERROR(FillShuffleBuffer());
    if (!shuffle_buffer_.empty()) break;
    // The epoch is over and drained: shuffling never mixes two epochs, so
    // every record appears once per epoch.
    if (records_this_epoch_ == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "epoch ", reader_epoch_, " of the dataset yielded no valid record"));
    }
    ++reader_epoch_;
    records_this_epoch_ = 0;
    reader_epoch_done_ = false;
    shuffle_rng_.seed(MixSeed(options_.seed, reader_epoch_));
    INPUTSERVE_RETURN_IF_ERROR(reader_->StartEpoch(reader_epoch_));
  }
  size_t pick = 0;
  if (options_.shuffle_buffer > 1) {
    pick = std::uniform_int_distribution<size_t>(
        0, shuffle_buffer_.size() - 1)(shuffle_rng_);
  }
  Shuffled out;
  if (options_.shuffle_buffer > 1) {
    std::swap(shuffle_buffer_[pick], shuffle_buffer_.back());
    out = std::move(shuffle_buffer_.back());
    shuffle_buffer_.pop_back();
  } else {
    out = std::move(shuffle_buffer_.front());
    shuffle_buffer_.erase(shuffle_buffer_.begin());
  }
  return out;
}

absl::StatusOr<Pipeline::Shuffled> Pipeline::NextRecord() {
  if (!read_ahead_.empty()) {
    Shuffled next = std::move(read_ahead_.front());
    read_ahead_.pop_front();
    return next;
  }
  if (!read_ahead_error_.ok()) return std::exchange(read_ahead_error_, {});
  return NextShuffled();
}

void Pipeline::ReadAhead(const DecodePool::Job& job) {
  const size_t want = static_cast<size_t>(options_.batch_size);
  while (read_ahead_.size() < want && read_ahead_error_.ok()) {
    // Stop early once the workers are done: they wait for the next job.
    if (pool_->Done(job)) return;
    absl::StatusOr<Shuffled> next = NextShuffled();
    if (!next.ok()) {
      read_ahead_error_ = next.status();
      return;
    }
    read_ahead_.push_back(*std::move(next));
  }
}

size_t Pipeline::DecodeInto(const std::vector<Shuffled>& items,
                            uint8_t* images, int32_t* labels) {
  const size_t image_bytes = shape_.image_bytes();
  std::vector<DecodePool::Item> work;
  work.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    work.push_back(DecodePool::Item{
        &items[i].example,
        ExampleSeed(options_.seed, items[i].epoch, items[i].example.index),
        images + i * image_bytes, labels + i});
  }
  DecodePool::Job job(std::move(work));
  pool_->Submit(&job);
  // Reading (file I/O, CRC checks, parsing) overlaps with decoding.
  ReadAhead(job);
  pool_->Wait(&job);
  for (size_t i = 0; i < items.size(); ++i) {
    if (!job.results()[i].ok() && consecutive_decode_failures_ < 10) {
      LogWarning(
          "record ", items[i].example.index,
          " failed to decode and was skipped: ", job.results()[i].message());
    }
  }
  // Successful records keep their order, failures leave no hole.
  return CompactDecoded(job.results(), image_bytes, images, labels);
}

}  // namespace inputserve
