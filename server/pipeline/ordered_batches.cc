#include "server/pipeline/ordered_batches.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/log.h"
#include "server/pipeline/pipeline.h"

namespace inputserve {
namespace {

size_t LayoutBytes(const std::vector<TensorLayout>& layouts) {
  size_t bytes = 0;
  for (const TensorLayout& t : layouts) bytes += t.num_bytes();
  return bytes;
}

}  // namespace

OrderedBatchProducer::OrderedBatchProducer(EpochPlan* epochs, DecodePool* pool,
                                           ServerMetrics* metrics,
                                           OrderedBatchOptions options,
                                           RankPlan plan, uint32_t shard,
                                           uint64_t first_step,
                                           uint64_t end_step)
    : epochs_(epochs),
      pool_(pool),
      metrics_(metrics),
      options_(std::move(options)),
      plan_(std::move(plan)),
      shard_(shard),
      first_step_(first_step),
      end_step_(end_step),
      image_bytes_(epochs->dataset().shape().image_bytes()),
      payload_bytes_(LayoutBytes(options_.layouts)),
      queue_(static_cast<size_t>(std::max(1, options_.prefetch_batches))),
      payloads_(PayloadPool::Create(
          payload_bytes_, static_cast<size_t>(options_.prefetch_batches) + 2)) {
  builder_ = std::thread([this] {
    Loop();
    // Idle payload buffers go as soon as the last batch sent returns them,
    // not when the (retired) producer is finally joined.
    payloads_.reset();
    exited_.store(true);
  });
}

OrderedBatchProducer::~OrderedBatchProducer() { Stop(); }

void OrderedBatchProducer::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  queue_.Close();
  if (builder_.joinable()) builder_.join();
}

absl::Status OrderedBatchProducer::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

void OrderedBatchProducer::Fail(const absl::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (status_.ok()) status_ = status;
  }
  queue_.Close();
}

absl::StatusOr<OrderedBatchProducer::Records> OrderedBatchProducer::Read(
    uint64_t step) {
  Records records;
  records.planned = plan_.At(step);
  const uint64_t batch_size = plan_.layout().batch_size;
  for (uint64_t index : epochs_->Records(records.planned.epoch,
                                         records.planned.index * batch_size,
                                         records.planned.size)) {
    absl::StatusOr<RawExample> raw = epochs_->dataset().ReadRecord(index);
    if (absl::IsDataLoss(raw.status())) {
      // Bad bytes fail alike on every replica: left out, as a decode error.
      metrics_->decode_errors().Increment();
      metrics_->records_skipped("decode_error").Increment();
      LogWarning("record ", index, " left out of step ", step, ": ",
                 raw.status().message());
      continue;
    }
    if (!raw.ok()) {
      return absl::UnavailableError(absl::StrCat("cannot read record ", index,
                                                 " for step ", step, ": ",
                                                 raw.status().message()));
    }
    records.examples.push_back(*std::move(raw));
  }
  return records;
}

BatchPtr OrderedBatchProducer::Build(const Records& records,
                                     std::optional<uint64_t> next_step,
                                     absl::StatusOr<Records>* next) {
  const absl::Time start = absl::Now();
  const size_t capacity = plan_.layout().batch_size;
  std::shared_ptr<PayloadBuffer> payload = payloads_->Acquire();
  std::vector<int32_t> labels(capacity);
  std::vector<DecodePool::Item> work;
  for (size_t i = 0; i < records.examples.size(); ++i) {
    const RawExample& ex = records.examples[i];
    work.push_back(DecodePool::Item{
        &ex, ExampleSeed(options_.seed, records.planned.epoch, ex.index),
        payload->data() + i * image_bytes_, labels.data() + i});
  }
  DecodePool::Job job(std::move(work));
  pool_->Submit(&job);
  // Reading the next batch overlaps with decoding this one.
  if (next_step.has_value()) *next = Read(*next_step);
  if (!pool_->Wait(&job)) return nullptr;
  const size_t n = CompactDecoded(job.results(), image_bytes_, payload->data(),
                                  labels.data());
  if (n < job.size()) {
    const double failed = static_cast<double>(job.size() - n);
    metrics_->decode_errors().Increment(failed);
    metrics_->records_skipped("decode_error").Increment(failed);
  }
  metrics_->examples_decoded().Increment(static_cast<double>(n));

  auto batch = std::make_shared<PipelineBatch>();
  batch->sequence = records.planned.step;
  batch->epoch = records.planned.epoch;
  batch->deterministic = true;
  batch->step = records.planned.step;
  batch->batch_index = records.planned.index;
  batch->tensors = options_.layouts;
  for (TensorLayout& t : batch->tensors) t.shape[0] = static_cast<int64_t>(n);
  if (n == capacity) {
    std::memcpy(payload->data() + n * image_bytes_, labels.data(),
                n * sizeof(int32_t));
    batch->payload = std::move(payload);
  } else {
    // A short batch (the epoch's last, or records left out) gets a buffer of
    // its exact size: the wire sends the whole buffer.
    std::shared_ptr<PayloadBuffer> exact =
        PayloadBuffer::Allocate(n * (image_bytes_ + sizeof(int32_t)));
    std::memcpy(exact->data(), payload->data(), n * image_bytes_);
    std::memcpy(exact->data() + n * image_bytes_, labels.data(),
                n * sizeof(int32_t));
    batch->payload = std::move(exact);
  }
  metrics_->deterministic_batches().Increment();
  metrics_->batch_build_seconds().Observe(
      absl::ToDoubleSeconds(absl::Now() - start));
  return batch;
}

void OrderedBatchProducer::Loop() {
  uint64_t step = first_step_;
  absl::StatusOr<Records> current = Read(step);
  for (;;) {
    if (queue_.closed()) return;
    if (!current.ok()) {
      Fail(current.status());
      return;
    }
    std::optional<uint64_t> next_step = plan_.NextStepOnShard(shard_, step + 1);
    if (next_step.has_value() && end_step_ != 0 && *next_step >= end_step_) {
      next_step.reset();
    }
    absl::StatusOr<Records> next = absl::CancelledError("no next step");
    BatchPtr batch = Build(*current, next_step, &next);
    if (batch == nullptr) {
      Fail(absl::UnavailableError("server is shutting down"));
      return;
    }
    if (!queue_.Push(std::move(batch))) return;
    if (!next_step.has_value()) return;
    step = *next_step;
    current = std::move(next);
  }
}

}  // namespace inputserve
