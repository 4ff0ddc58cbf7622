#include "server/transport/input_service.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/log.h"
#include "server/transport/call_auth.h"
#include "server/transport/ordered_start.h"

namespace inputserve {
namespace {

constexpr size_t kMaxConsumerIdBytes = 256;
// Ends a server-streaming call at once with `status`.
template <typename T>
class RejectedStream : public grpc::ServerWriteReactor<T> {
 public:
  explicit RejectedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

grpc::Status Draining() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server is shutting down; reconnect to another replica");
}

}  // namespace

// One StreamBatches call, server side (the client reads it with
// client_internal::BatchStream). State moves idle -> waiting (for a real batch)
// -> writing (chunk by chunk, one write in flight) -> idle ... -> finished.
class InputServiceImpl::BatchStreamReactor
    : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // `ordered`: a deterministic stream's state; null for arrival order.
  BatchStreamReactor(InputServiceImpl* service, std::string consumer,
                     std::unique_ptr<OrderedStart> ordered)
      : service_(service),
        consumer_(std::move(consumer)),
        ordered_(std::move(ordered)),
        queue_(ordered_ != nullptr ? &ordered_->producer->queue()
                                   : &service_->pipeline_->queue()) {
    if (ordered_ != nullptr) {
      service_->metrics_->deterministic_streams().Increment();
    }
  }

  void Start() { NextBatch(); }

  void Drain() {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    if (state_ == State::kWaiting && ticket_ != 0 &&
        queue_->CancelWaiter(ticket_)) {
      FinishLocked(Draining(), "drained");
    }
  }

  void OnWriteDone(bool ok) override {
    BatchPtr requeue;
    {
      absl::MutexLock lock(&mu_);
      if (!ok || cancelled_) {
        // The client is gone or the call was cancelled mid-batch: the real
        // batch goes back to the queue for another consumer.
        // A client that cancels after caching the synthetic batch is normal
        // operation; only a lost real batch counts as a stream error. A
        // deterministic stream's client asks again for the step instead.
        requeue = std::move(real_batch_);
        if (ordered_ != nullptr) requeue.reset();
        FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED,
                                  "stream cancelled"),
                     requeue != nullptr ? "batch_requeued" : "");
      } else if (++next_chunk_ < encoded_->chunks.size()) {
        StartWriteLocked();
        return;
      } else {
        service_->metrics_->batches_sent(encoded_->mode).Increment();
        service_->metrics_->bytes_sent(encoded_->mode)
            .Increment(static_cast<double>(encoded_->payload_bytes));
        if (ordered_ != nullptr && real_batch_ != nullptr) AdvanceLocked();
        real_batch_.reset();
        encoded_.reset();
        state_ = State::kIdle;
      }
    }
    if (requeue != nullptr) {
      queue_->PushFront(std::move(requeue));
      return;
    }
    if (ok) NextBatch();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (state_ == State::kWaiting && ticket_ != 0 &&
        queue_->CancelWaiter(ticket_)) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"),
                   "");
    }
    // kWriting: OnWriteDone(false) follows and finishes. kIdle: NextBatch
    // sees cancelled_.
  }

  void OnDone() override {
    if (ordered_ != nullptr) {
      service_->metrics_->deterministic_streams().Decrement();
      service_->Retire(std::move(ordered_->producer));
    }
    service_->Unregister(this);
    delete this;
  }

 private:
  enum class State { kIdle, kWaiting, kWriting, kFinished };

  // After a deterministic stream sent real_batch_: its next step, or done.
  void AdvanceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::optional<uint64_t> next =
        ordered_->plan->NextStepOnShard(ordered_->shard, real_batch_->step + 1);
    if (!next.has_value() ||
        (ordered_->end_step != 0 && *next >= ordered_->end_step)) {
      ordered_->done = true;
      return;
    }
    ordered_->next_step = *next;
  }

  // The synthetic batch standing in for the deterministic step not yet
  // sent; it shares the cached payload, only the header differs.
  std::shared_ptr<const EncodedBatch> SyntheticStandInLocked(
      uint64_t generation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto batch = std::make_shared<PipelineBatch>(*service_->cache_->batch());
    const PlannedBatch planned = ordered_->plan->At(ordered_->next_step);
    batch->deterministic = true;
    batch->step = planned.step;
    batch->batch_index = planned.index;
    batch->epoch = planned.epoch;
    BatchWireInfo info = service_->options_.wire;
    info.mode = ServingMode::kSynthetic;
    info.mode_generation = generation;
    return std::make_shared<const EncodedBatch>(
        EncodeBatch(batch, info, service_->options_.chunk_bytes));
  }

  void NextBatch() {
    const ModeState mode = service_->mode_->Get();
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) {
        FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"),
                     "");
        return;
      }
      if (draining_) {
        FinishLocked(Draining(), "drained");
        return;
      }
      if (ordered_ != nullptr && ordered_->done) {
        FinishLocked(grpc::Status::OK, "");
        return;
      }
      if (mode.mode == ServingMode::kSynthetic) {
        encoded_ = ordered_ != nullptr ? SyntheticStandInLocked(mode.generation)
                                       : service_->cache_->Get(mode.generation);
        next_chunk_ = 0;
        StartWriteLocked();
        return;
      }
      state_ = State::kWaiting;
      ticket_ = 0;
    }
    // PopAsync may run OnBatch inline, so it is called without mu_ held.
    const uint64_t ticket =
        queue_->PopAsync([this](BatchPtr batch) { OnBatch(std::move(batch)); });
    if (ticket == 0) return;
    absl::MutexLock lock(&mu_);
    if (state_ != State::kWaiting) return;
    ticket_ = ticket;
    if ((cancelled_ || draining_) && queue_->CancelWaiter(ticket)) {
      FinishLocked(cancelled_ ? grpc::Status(grpc::StatusCode::CANCELLED,
                                             "cancelled")
                              : Draining(),
                   cancelled_ ? "" : "drained");
    }
  }

  void OnBatch(BatchPtr batch) {
    BatchPtr requeue;
    {
      absl::MutexLock lock(&mu_);
      ticket_ = 0;
      if (batch == nullptr && ordered_ != nullptr) {
        // The producer failed (a record could not be read) or the server
        // is stopping: the client resumes from this step elsewhere.
        const absl::Status producer = ordered_->producer->status();
        FinishLocked(producer.ok()
                         ? Draining()
                         : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                        std::string(producer.message())),
                     producer.ok() ? "drained" : "read_failed");
        return;
      }
      if (batch == nullptr) {
        // The queue closed: shutdown, or the pipeline failed.
        absl::Status pipeline = service_->pipeline_->status();
        FinishLocked(pipeline.ok()
                         ? Draining()
                         : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                        absl::StrCat("input pipeline failed: ",
                                                     pipeline.message())),
                     pipeline.ok() ? "drained" : "pipeline_failed");
        return;
      }
      if (cancelled_) {
        if (ordered_ == nullptr) requeue = std::move(batch);
        FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"),
                     "");
      } else {
        BatchWireInfo info = service_->options_.wire;
        info.mode = ServingMode::kReal;
        info.mode_generation = service_->mode_->Get().generation;
        encoded_ = std::make_shared<const EncodedBatch>(
            EncodeBatch(batch, info, service_->options_.chunk_bytes));
        real_batch_ = std::move(batch);
        next_chunk_ = 0;
        StartWriteLocked();
        return;
      }
    }
    if (requeue != nullptr) queue_->PushFront(std::move(requeue));
  }

  void StartWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    state_ = State::kWriting;
    StartWrite(&encoded_->chunks[next_chunk_]);
  }

  // `error_reason` labels inputserve_stream_errors_total; empty = not an
  // error (the client cancelled, as it does after caching a synthetic batch).
  void FinishLocked(const grpc::Status& status, absl::string_view error_reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (state_ == State::kFinished) return;
    state_ = State::kFinished;
    if (!error_reason.empty()) {
      service_->metrics_->stream_errors(error_reason).Increment();
    }
    Finish(status);
  }

  InputServiceImpl* const service_;
  const std::string consumer_;
  const std::unique_ptr<OrderedStart> ordered_;
  PrefetchQueue* const queue_;  // The pipeline's, or the producer's.
  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kIdle;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t ticket_ ABSL_GUARDED_BY(mu_) = 0;
  BatchPtr real_batch_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const EncodedBatch> encoded_ ABSL_GUARDED_BY(mu_);
  size_t next_chunk_ ABSL_GUARDED_BY(mu_) = 0;
};

// One WatchMode call: the current mode at once, then every change. Sends
// nothing while nothing changes.
class InputServiceImpl::ModeWatchReactor
    : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit ModeWatchReactor(InputServiceImpl* service) : service_(service) {}

  void Start() {
    subscription_ = service_->mode_->Subscribe(
        [this](const ModeState& state) { OnChange(state); });
    OnChange(service_->mode_->Get());
  }

  void Drain() {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    if (!writing_) FinishLocked(Draining());
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
    } else if (draining_) {
      FinishLocked(Draining());
    } else if (latest_.generation > sent_generation_) {
      WriteLocked();
    }
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    if (!writing_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
    }
  }

  void OnDone() override {
    service_->mode_->Unsubscribe(subscription_);
    service_->Unregister(this);
    delete this;
  }

 private:
  void OnChange(const ModeState& state) {
    absl::MutexLock lock(&mu_);
    if (finished_ || state.generation <= latest_.generation) return;
    latest_ = state;
    if (!writing_) WriteLocked();
  }

  void WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    message_.Clear();
    SerializeMessage(ToProto(latest_), &message_);
    sent_generation_ = latest_.generation;
    writing_ = true;
    StartWrite(&message_);
  }

  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  InputServiceImpl* const service_;
  uint64_t subscription_ = 0;
  absl::Mutex mu_;
  ModeState latest_ ABSL_GUARDED_BY(mu_){ServingMode::kReal, 0, 0};
  uint64_t sent_generation_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::ByteBuffer message_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

InputServiceImpl::InputServiceImpl(Pipeline* pipeline, ModeController* mode,
                                   SyntheticBatchCache* cache,
                                   ServerMetrics* metrics, Options options)
    : pipeline_(pipeline),
      mode_(mode),
      cache_(cache),
      metrics_(metrics),
      options_(std::move(options)) {}

InputServiceImpl::~InputServiceImpl() {
  std::vector<std::shared_ptr<OrderedBatchProducer>> retired;
  {
    absl::MutexLock lock(&mu_);
    retired.swap(retired_);
  }
  for (auto& producer : retired) producer->Stop();
}

grpc::ServerUnaryReactor* InputServiceImpl::GetDatasetInfo(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status s = Authenticate(*context, "GetDatasetInfo"); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  v1::GetDatasetInfoRequest parsed;
  if (grpc::Status s = ParseRequest(*request, &parsed); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  {
    absl::MutexLock lock(&mu_);
    if (draining_) {
      reactor->Finish(Draining());
      return reactor;
    }
  }
  v1::DatasetInfo info = options_.info;
  *info.mutable_mode() = ToProto(mode_->Get());
  SerializeMessage(info, response);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* InputServiceImpl::StreamBatches(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  if (grpc::Status s = Authenticate(*context, "StreamBatches"); !s.ok()) {
    return new RejectedStream<grpc::ByteBuffer>(s);
  }
  v1::StreamBatchesRequest parsed;
  if (grpc::Status s = ParseRequest(*request, &parsed); !s.ok()) {
    metrics_->stream_errors("invalid_argument").Increment();
    return new RejectedStream<grpc::ByteBuffer>(s);
  }
  if (parsed.consumer_id().size() > kMaxConsumerIdBytes) {
    metrics_->stream_errors("invalid_argument").Increment();
    return new RejectedStream<grpc::ByteBuffer>(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("consumer_id: length ", parsed.consumer_id().size(),
                     " exceeds the maximum of ", kMaxConsumerIdBytes,
                     " bytes")));
  }
  std::unique_ptr<OrderedStart> ordered;
  if (parsed.ordering() == v1::ORDERING_DETERMINISTIC) {
    ReapProducers();
    {
      absl::MutexLock lock(&mu_);
      if (draining_) return new RejectedStream<grpc::ByteBuffer>(Draining());
    }
    absl::StatusOr<std::unique_ptr<OrderedStart>> start = StartOrdered(parsed);
    if (!start.ok()) {
      metrics_
          ->stream_errors(absl::IsInvalidArgument(start.status())
                              ? "invalid_argument"
                              : "failed_precondition")
          .Increment();
      return new RejectedStream<grpc::ByteBuffer>(ToGrpcStatus(start.status()));
    }
    ordered = *std::move(start);
    if (ordered->producer == nullptr) {
      return new RejectedStream<grpc::ByteBuffer>(grpc::Status::OK);
    }
  } else if (parsed.ordering() != v1::ORDERING_UNSPECIFIED &&
             parsed.ordering() != v1::ORDERING_ARRIVAL) {
    metrics_->stream_errors("invalid_argument").Increment();
    return new RejectedStream<grpc::ByteBuffer>(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     absl::StrCat("ordering: must be ORDERING_ARRIVAL (1) or "
                                  "ORDERING_DETERMINISTIC (2), got ",
                                  static_cast<int>(parsed.ordering()))));
  }
  BatchStreamReactor* stream;
  {
    absl::MutexLock lock(&mu_);
    // A refused deterministic stream's producer is stopped when `ordered`
    // goes out of scope (after the lock).
    if (draining_) return new RejectedStream<grpc::ByteBuffer>(Draining());
    if (streams_.size() >= static_cast<size_t>(options_.max_streams)) {
      metrics_->stream_errors("resource_exhausted").Increment();
      return new RejectedStream<grpc::ByteBuffer>(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("server is at --max_streams=", options_.max_streams,
                       " concurrent StreamBatches calls; retry later or use "
                       "another replica")));
    }
    stream =
        new BatchStreamReactor(this, parsed.consumer_id(), std::move(ordered));
    streams_.insert(stream);
    metrics_->active_streams().Set(static_cast<double>(streams_.size()));
  }
  stream->Start();
  return stream;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* InputServiceImpl::WatchMode(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  if (grpc::Status s = Authenticate(*context, "WatchMode"); !s.ok()) {
    return new RejectedStream<grpc::ByteBuffer>(s);
  }
  v1::WatchModeRequest parsed;
  if (grpc::Status s = ParseRequest(*request, &parsed); !s.ok()) {
    return new RejectedStream<grpc::ByteBuffer>(s);
  }
  ModeWatchReactor* watch;
  {
    absl::MutexLock lock(&mu_);
    if (draining_) return new RejectedStream<grpc::ByteBuffer>(Draining());
    watch = new ModeWatchReactor(this);
    watches_.insert(watch);
  }
  watch->Start();
  return watch;
}

grpc::Status InputServiceImpl::Authenticate(
    const grpc::CallbackServerContext& context, const char* rpc) {
  grpc::Status status = AuthenticateCall(options_.auth, context);
  if (!status.ok()) metrics_->data_auth_failures(rpc).Increment();
  return status;
}

void InputServiceImpl::Drain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  for (BatchStreamReactor* s : streams_) s->Drain();
  for (ModeWatchReactor* w : watches_) w->Drain();
}

bool InputServiceImpl::WaitForStreams(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return streams_.empty() && watches_.empty();
  };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

int InputServiceImpl::active_streams() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(streams_.size());
}

void InputServiceImpl::Unregister(BatchStreamReactor* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
  metrics_->active_streams().Set(static_cast<double>(streams_.size()));
}

void InputServiceImpl::Unregister(ModeWatchReactor* watch) {
  absl::MutexLock lock(&mu_);
  watches_.erase(watch);
}

}  // namespace inputserve
