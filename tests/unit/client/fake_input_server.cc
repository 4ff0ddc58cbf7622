#include "tests/unit/client/fake_input_server.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace inputserve::testing {

class FakeInputServer::Service final : public v1::InputService::Service {
 public:
  explicit Service(const FakeInputServer* owner) : owner_(owner) {}

  grpc::Status GetDatasetInfo(grpc::ServerContext*,
                              const v1::GetDatasetInfoRequest*,
                              v1::DatasetInfo* info) override {
    info->set_dataset("fake");
    info->set_batch_size(owner_->options_.batch_size);
    for (const v1::TensorSpec& t : owner_->tensors()) *info->add_tensors() = t;
    const FakeServerOptions& o = owner_->options_;
    info->set_shard_index(o.shard_index);
    info->set_num_shards(o.num_shards);
    info->set_examples_per_epoch(o.examples_per_epoch);
    info->set_num_classes(static_cast<uint32_t>(o.class_names.size()));
    info->add_orderings(v1::ORDERING_ARRIVAL);
    if (o.deterministic) {
      info->add_orderings(v1::ORDERING_DETERMINISTIC);
      info->set_order_fingerprint(o.order_fingerprint);
    }
    for (const std::string& name : o.class_names) info->add_class_names(name);
    absl::MutexLock lock(&mu_);
    info->mutable_mode()->set_mode(mode_);
    info->mutable_mode()->set_generation(generation_);
    return grpc::Status::OK;
  }

  grpc::Status StreamBatches(
      grpc::ServerContext* context, const v1::StreamBatchesRequest* request,
      grpc::ServerWriter<v1::BatchChunk>* writer) override {
    if (request->ordering() == v1::ORDERING_DETERMINISTIC) {
      return StreamOrdered(context, *request, writer);
    }
    {
      absl::MutexLock lock(&mu_);
      ++active_;
      ++opened_;
    }
    bool cancelled = false;
    while (true) {
      if (context->IsCancelled()) {
        cancelled = true;
        break;
      }
      uint64_t sequence;
      v1::Mode mode;
      uint64_t generation;
      {
        absl::MutexLock lock(&mu_);
        mode = mode_;
        generation = generation_;
        sequence = mode == v1::MODE_SYNTHETIC ? 0 : next_sequence_++;
      }
      std::vector<v1::BatchChunk> chunks =
          owner_->MakeChunks(sequence, mode, generation);
      if (owner_->options_.mangle) {
        chunks = owner_->options_.mangle(sequence, std::move(chunks));
      }
      bool ok = true;
      for (const v1::BatchChunk& chunk : chunks) {
        if (!writer->Write(chunk)) {
          ok = false;
          break;
        }
      }
      if (!ok) {
        // A failed write may be seen a moment before the call is marked
        // cancelled; give the cancellation time to land.
        const absl::Time deadline = absl::Now() + absl::Seconds(1);
        while (!(cancelled = context->IsCancelled()) &&
               absl::Now() < deadline) {
          absl::SleepFor(absl::Milliseconds(1));
        }
        break;
      }
      absl::MutexLock lock(&mu_);
      ++batches_sent_;
    }
    absl::MutexLock lock(&mu_);
    --active_;
    if (cancelled) ++cancelled_;
    return grpc::Status::OK;
  }

  // The deterministic stream: the request's steps on this shard, in order;
  // synthetic batches stand in for the next step without taking it.
  grpc::Status StreamOrdered(grpc::ServerContext* context,
                             const v1::StreamBatchesRequest& request,
                             grpc::ServerWriter<v1::BatchChunk>* writer) {
    const FakeServerOptions& o = owner_->options_;
    {
      absl::MutexLock lock(&mu_);
      ordered_requests_.push_back(request);
    }
    if (!o.deterministic) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "this server does not serve the deterministic order");
    }
    ShardLayout layout{
        request.batch_size(),
        {request.shard_examples().begin(), request.shard_examples().end()}};
    if (layout.batch_size != static_cast<uint32_t>(o.batch_size) ||
        layout.shard_examples.size() != o.num_shards ||
        layout.shard_examples[o.shard_index] != o.examples_per_epoch) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "the request's layout differs from this server's");
    }
    absl::StatusOr<RankPlan> plan = RankPlan::Create(
        layout, request.rank(), request.world_size(), request.drop_remainder());
    if (!plan.ok()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          std::string(plan.status().message()));
    }
    std::optional<uint64_t> step =
        plan->NextStepOnShard(o.shard_index, request.start_step());
    int sent = 0;
    while (step.has_value() &&
           (request.end_step() == 0 || *step < request.end_step())) {
      if (context->IsCancelled()) return grpc::Status::CANCELLED;
      v1::Mode mode;
      uint64_t generation;
      {
        absl::MutexLock lock(&mu_);
        mode = mode_;
        generation = generation_;
      }
      std::vector<v1::BatchChunk> chunks =
          owner_->MakeOrderedChunks(plan->At(*step), mode, generation);
      const bool breaking = o.break_after > 0 && sent == o.break_after;
      if (breaking) chunks.resize(1);
      for (const v1::BatchChunk& chunk : chunks) {
        if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
      }
      if (breaking) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "broken on purpose");
      }
      absl::MutexLock lock(&mu_);
      ++batches_sent_;
      if (mode == v1::MODE_SYNTHETIC) continue;  // Does not take the step.
      ++sent;
      step = plan->NextStepOnShard(o.shard_index, *step + 1);
    }
    return grpc::Status::OK;
  }

  grpc::Status WatchMode(grpc::ServerContext* context,
                         const v1::WatchModeRequest*,
                         grpc::ServerWriter<v1::ModeStatus>* writer) override {
    uint64_t sent = 0;
    while (!context->IsCancelled()) {
      v1::ModeStatus status;
      {
        absl::MutexLock lock(&mu_);
        auto changed = [this, sent]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return generation_ != sent || stopping_;
        };
        // Short waits so a cancelled call is noticed promptly.
        if (!mu_.AwaitWithTimeout(absl::Condition(&changed),
                                  absl::Milliseconds(20))) {
          continue;
        }
        if (stopping_) break;
        status.set_mode(mode_);
        status.set_generation(generation_);
        sent = generation_;
      }
      if (!writer->Write(status)) break;
    }
    return grpc::Status::OK;
  }

  void SetMode(v1::Mode mode) {
    absl::MutexLock lock(&mu_);
    mode_ = mode;
    ++generation_;
  }
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }

  const FakeInputServer* owner_;
  mutable absl::Mutex mu_;
  v1::Mode mode_ ABSL_GUARDED_BY(mu_) = v1::MODE_REAL;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  int opened_ ABSL_GUARDED_BY(mu_) = 0;
  int cancelled_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t batches_sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<v1::StreamBatchesRequest> ordered_requests_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

FakeInputServer::FakeInputServer(FakeServerOptions options)
    : options_(std::move(options)) {}

std::unique_ptr<FakeInputServer> FakeInputServer::Start(
    FakeServerOptions options) {
  std::unique_ptr<FakeInputServer> fake(new FakeInputServer(options));
  fake->service_ = std::make_unique<Service>(fake.get());
  {
    absl::MutexLock lock(&fake->service_->mu_);
    fake->service_->mode_ = options.mode;
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", options.port),
                           grpc::InsecureServerCredentials(), &fake->port_);
  builder.RegisterService(fake->service_.get());
  fake->server_ = builder.BuildAndStart();
  if (fake->server_ == nullptr || fake->port_ == 0) return nullptr;
  return fake;
}

FakeInputServer::~FakeInputServer() { Shutdown(); }

void FakeInputServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  service_->Stop();
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(200));
  server_->Wait();
}

std::string FakeInputServer::target() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void FakeInputServer::SetMode(v1::Mode mode) { service_->SetMode(mode); }

uint64_t FakeInputServer::generation() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->generation_;
}
int FakeInputServer::cancelled_streams() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->cancelled_;
}
int FakeInputServer::active_streams() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->active_;
}
int FakeInputServer::streams_opened() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->opened_;
}
uint64_t FakeInputServer::batches_sent() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->batches_sent_;
}

std::vector<v1::StreamBatchesRequest> FakeInputServer::deterministic_requests()
    const {
  absl::MutexLock lock(&service_->mu_);
  return service_->ordered_requests_;
}

uint8_t FakeInputServer::ImageByte(int server_id, uint64_t sequence,
                                   size_t index) {
  return static_cast<uint8_t>(sequence * 131 + index * 7 + server_id * 17);
}

int32_t FakeInputServer::Label(int server_id, uint64_t sequence, int example) {
  // Readable back: server_id * 1e8 + sequence * 100 + example (batch < 100).
  return static_cast<int32_t>(server_id * 100000000 + sequence * 100 + example);
}

size_t FakeInputServer::image_bytes() const {
  return static_cast<size_t>(options_.batch_size) * options_.height *
         options_.width * 3;
}

std::vector<v1::TensorSpec> FakeInputServer::tensors() const {
  std::vector<v1::TensorSpec> out(2);
  out[0].set_name("image");
  out[0].set_dtype(v1::DTYPE_UINT8);
  for (int64_t d : {static_cast<int64_t>(options_.batch_size),
                    static_cast<int64_t>(options_.height),
                    static_cast<int64_t>(options_.width), int64_t{3}}) {
    out[0].add_shape(d);
  }
  out[1].set_name("label");
  out[1].set_dtype(v1::DTYPE_INT32);
  out[1].add_shape(options_.batch_size);
  return out;
}

std::vector<v1::BatchChunk> FakeInputServer::MakeChunks(
    uint64_t sequence, v1::Mode mode, uint64_t generation) const {
  return Chunk(sequence, mode, generation, options_.server_id,
               options_.batch_size, nullptr);
}

std::vector<v1::BatchChunk> FakeInputServer::MakeOrderedChunks(
    const PlannedBatch& b, v1::Mode mode, uint64_t generation) const {
  const bool synthetic = mode == v1::MODE_SYNTHETIC;
  v1::BatchHeader extra;
  extra.set_deterministic(true);
  extra.set_step(b.step);
  extra.set_epoch(b.epoch);
  extra.set_batch_index(synthetic ? 0 : b.index);
  // The synthetic batch is batch 0 of epoch 0, whole.
  return Chunk(synthetic ? 0 : OrderSequence(b.epoch, b.index), mode,
               generation, static_cast<int>(options_.shard_index),
               synthetic ? options_.batch_size : static_cast<int>(b.size),
               &extra);
}

std::vector<v1::BatchChunk> FakeInputServer::Chunk(
    uint64_t sequence, v1::Mode mode, uint64_t generation, int id, int rows,
    const v1::BatchHeader* extra) const {
  const size_t image_bytes = this->image_bytes() / options_.batch_size * rows;
  std::string payload(image_bytes + 4 * rows, '\0');
  for (size_t i = 0; i < image_bytes; ++i) {
    payload[i] = static_cast<char>(ImageByte(id, sequence, i));
  }
  for (int e = 0; e < rows; ++e) {
    const int32_t label = Label(id, sequence, e);
    std::memcpy(&payload[image_bytes + 4 * e], &label, 4);
  }
  v1::BatchHeader header;
  if (extra != nullptr) header = *extra;
  header.set_sequence(sequence);
  header.set_mode(mode);
  header.set_mode_generation(generation);
  for (v1::TensorSpec t : tensors()) {
    t.set_shape(0, rows);
    *header.add_tensors() = std::move(t);
  }
  header.set_payload_bytes(payload.size());
  std::vector<v1::BatchChunk> chunks;
  for (size_t off = 0; off < payload.size(); off += options_.chunk_bytes) {
    v1::BatchChunk chunk;
    if (off == 0) *chunk.mutable_header() = header;
    chunk.set_data(payload.substr(off, options_.chunk_bytes));
    chunks.push_back(std::move(chunk));
  }
  chunks.back().set_last(true);
  return chunks;
}

}  // namespace inputserve::testing
