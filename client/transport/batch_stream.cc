#include "client/transport/batch_stream.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/transport/backoff.h"
#include "client/transport/batch_assembler.h"
#include "client/transport/channel.h"
#include "client/transport/chunk_parser.h"
#include "client/transport/raw_stream.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "inputserve/v1/input_service.pb.h"

namespace inputserve::client_internal {
namespace {

constexpr char kStreamBatchesMethod[] =
    "/inputserve.v1.InputService/StreamBatches";

// Arrival order: the same target and request every time, with exponential
// backoff between attempts (reset by a delivered batch).
class ArrivalPlan final : public StreamPlan {
 public:
  ArrivalPlan(const BatchStreamConfig& config,
              std::shared_ptr<grpc::Channel> channel, BatchQueue* queue)
      : queue_(queue), backoff_(config.initial_backoff, config.max_backoff) {
    call_.target_index = config.target_index;
    call_.target = config.target;
    call_.channel = std::move(channel);
    call_.request.set_consumer_id(config.consumer_id);
  }

  bool NextCall(Call* call) override {
    *call = call_;
    return true;
  }
  absl::StatusOr<Slot*> Acquire(const v1::BatchHeader&, int) override {
    return queue_->AcquireFree();
  }
  absl::Duration Ended(const absl::Status&, bool delivered,
                       bool cancelled) override {
    if (delivered) backoff_.Reset();
    return cancelled ? absl::ZeroDuration() : backoff_.Next();
  }

 private:
  Call call_;
  BatchQueue* const queue_;
  Backoff backoff_;
};

}  // namespace

BatchStream::BatchStream(BatchStreamConfig config,
                         std::shared_ptr<grpc::Channel> channel,
                         BatchStreamShared shared)
    : BatchStream(std::make_unique<ArrivalPlan>(config, std::move(channel),
                                                shared.queue),
                  shared) {}

BatchStream::BatchStream(std::unique_ptr<StreamPlan> plan,
                         BatchStreamShared shared)
    : plan_(std::move(plan)), shared_(shared), thread_([this] { Run(); }) {}

BatchStream::~BatchStream() { thread_.join(); }

void BatchStream::Run() {
  bool reconnecting = false;
  StreamPlan::Call call;
  while (shared_.gate->WaitOpen()) {
    if (!plan_->NextCall(&call)) return;  // Everything asked for arrived.
    grpc::ClientContext context;
    if (!shared_.gate->Register(&context)) continue;
    if (reconnecting) shared_.counters->Add(shared_.counters->reconnects);
    bool delivered = false;
    absl::Status status = RunCall(&context, call, &delivered);
    shared_.gate->Unregister(&context);
    const bool cancelled = !shared_.gate->open();
    const absl::Duration pause = plan_->Ended(status, delivered, cancelled);
    if (cancelled) {
      // Cancelled on purpose (synthetic cache or shutdown): not an error, and
      // the next open starts fresh.
      reconnecting = false;
      continue;
    }
    if (status.ok()) {
      shared_.health->Set(call.target_index,
                          "stream ended by the server; reconnecting");
    } else {
      shared_.counters->Add(shared_.counters->stream_errors);
      shared_.health->Set(call.target_index, status.ToString());
    }
    reconnecting = true;
    if (pause > absl::ZeroDuration()) shared_.gate->SleepFor(pause);
  }
}

absl::Status BatchStream::RunCall(grpc::ClientContext* context,
                                  const StreamPlan::Call& call,
                                  bool* delivered) {
  grpc::ByteBuffer request_buffer;
  {
    const std::string bytes = call.request.SerializeAsString();
    grpc::Slice slice(bytes);
    request_buffer = grpc::ByteBuffer(&slice, 1);
  }
  RawServerStream stream(call.channel, kStreamBatchesMethod);
  const std::string where = absl::StrCat("streaming from ", call.target);
  if (!stream.Start(context, request_buffer)) {
    absl::Status s = FromGrpcStatus(stream.Finish());
    return absl::Status(s.code(), absl::StrCat(where, ": ", s.message()));
  }
  shared_.health->Set(call.target_index, "streaming");

  BatchAssembler assembler(shared_.layout, plan_->allow_short());
  Slot* slot = nullptr;
  // Whether the device backend follows the batch being assembled (real
  // full ones only: a synthetic batch is cached once, from its slot, and a
  // short one is rearranged once complete).
  DeviceBackend* early = nullptr;
  const BatchAssembler::AcquireFn acquire =
      [this, &slot, &early,
       &assembler](const v1::BatchHeader& header) -> absl::StatusOr<uint8_t*> {
    absl::StatusOr<Slot*> acquired = plan_->Acquire(header, assembler.rows());
    if (!acquired.ok()) return acquired.status();
    slot = *acquired;
    if (slot == nullptr) return absl::CancelledError("client paused");
    const bool whole = assembler.rows() == shared_.layout->batch_size();
    early = header.mode() == v1::MODE_REAL && whole ? shared_.backend : nullptr;
    if (early != nullptr) {
      early->BeginArrival(slot->data);
    } else if (shared_.backend != nullptr) {
      // Early copies an earlier batch left in this buffer must not pass
      // for this one's.
      shared_.backend->AbandonArrival(slot->data);
    }
    return slot->data;
  };
  grpc::ByteBuffer buffer;
  std::vector<grpc::Slice> slices;
  std::vector<ByteSpan> spans;
  absl::Status error;
  while (stream.Read(&buffer)) {
    slices.clear();
    if (!buffer.Dump(&slices).ok()) {
      error = absl::DataLossError("cannot read a received message");
      break;
    }
    spans.clear();
    for (const grpc::Slice& s : slices) spans.push_back({s.begin(), s.size()});
    absl::StatusOr<BatchAssembler::Progress> progress =
        assembler.Consume(spans, acquire);
    if (!progress.ok()) {
      error = progress.status();
      break;
    }
    shared_.counters->Add(shared_.counters->bytes_received,
                          assembler.last_chunk_bytes());
    if (early != nullptr && slot != nullptr) {
      early->BytesArrived(slot->data, assembler.filled());
    }
    if (*progress == BatchAssembler::Progress::kComplete) {
      shared_.layout->SpreadShortBatch(slot->data, assembler.rows());
      slot->header = assembler.header();
      slot->source = call.target_index;
      // Counted before the push so stats() never shows fewer received
      // batches than Next() has returned.
      shared_.counters->Add(shared_.counters->batches_received);
      shared_.queue->PushReady(slot);
      slot = nullptr;
      *delivered = true;
    }
  }
  if (slot != nullptr) {
    if (early != nullptr) early->AbandonArrival(slot->data);
    shared_.queue->Abandon(slot);
  }
  if (!error.ok()) {
    // Our side gives up on this call: cancel so Finish() does not wait for
    // the server to finish a stream we no longer read.
    context->TryCancel();
    stream.Finish();
    return absl::Status(error.code(),
                        absl::StrCat(where, ": ", error.message()));
  }
  absl::Status s = FromGrpcStatus(stream.Finish());
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(where, ": ", s.message()));
}

}  // namespace inputserve::client_internal
