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

}  // namespace

BatchStream::BatchStream(BatchStreamConfig config,
                         std::shared_ptr<grpc::Channel> channel,
                         BatchStreamShared shared)
    : config_(std::move(config)),
      channel_(std::move(channel)),
      shared_(shared),
      thread_([this] { Run(); }) {}

BatchStream::~BatchStream() { thread_.join(); }

void BatchStream::Run() {
  Backoff backoff(config_.initial_backoff, config_.max_backoff);
  bool reconnecting = false;
  while (shared_.gate->WaitOpen()) {
    grpc::ClientContext context;
    if (!shared_.gate->Register(&context)) continue;
    if (reconnecting) shared_.counters->Add(shared_.counters->reconnects);
    bool delivered = false;
    absl::Status status = RunCall(&context, &delivered);
    shared_.gate->Unregister(&context);
    if (delivered) backoff.Reset();
    if (!shared_.gate->open()) {
      // Cancelled on purpose (synthetic cache or shutdown): not an error, and
      // the next open starts fresh.
      reconnecting = false;
      continue;
    }
    if (status.ok()) {
      shared_.health->Set(config_.target_index,
                          "stream ended by the server; reconnecting");
    } else {
      shared_.counters->Add(shared_.counters->stream_errors);
      shared_.health->Set(config_.target_index, status.ToString());
    }
    reconnecting = true;
    shared_.gate->SleepFor(backoff.Next());
  }
}

absl::Status BatchStream::RunCall(grpc::ClientContext* context,
                                  bool* delivered) {
  v1::StreamBatchesRequest request;
  request.set_consumer_id(config_.consumer_id);
  grpc::ByteBuffer request_buffer;
  {
    const std::string bytes = request.SerializeAsString();
    grpc::Slice slice(bytes);
    request_buffer = grpc::ByteBuffer(&slice, 1);
  }
  RawServerStream stream(channel_, kStreamBatchesMethod);
  const std::string where = absl::StrCat("streaming from ", config_.target);
  if (!stream.Start(context, request_buffer)) {
    absl::Status s = FromGrpcStatus(stream.Finish());
    return absl::Status(s.code(), absl::StrCat(where, ": ", s.message()));
  }
  shared_.health->Set(config_.target_index, "streaming");

  BatchAssembler assembler(shared_.layout);
  Slot* slot = nullptr;
  // Whether the device backend follows the batch being assembled (real
  // ones only: a synthetic batch is cached once, from its slot).
  DeviceBackend* early = nullptr;
  const BatchAssembler::AcquireFn acquire =
      [this, &slot,
       &early](const v1::BatchHeader& header) -> absl::StatusOr<uint8_t*> {
    slot = shared_.queue->AcquireFree();
    if (slot == nullptr) return absl::CancelledError("client paused");
    early = header.mode() == v1::MODE_REAL ? shared_.backend : nullptr;
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
      slot->header = assembler.header();
      slot->source = config_.target_index;
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
