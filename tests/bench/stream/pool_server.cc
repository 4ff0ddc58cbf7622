#include "tests/bench/stream/pool_server.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "server/metrics.h"
#include "server/pipeline/pipeline.h"
#include "server/server.h"
#include "server/sources/random_source.h"
#include "server/transport/input_service.h"
#include "server/transport/synthetic_cache.h"
#include "server/transport/wire.h"

namespace inputserve::bench {
namespace {

constexpr uint64_t kSeed = 42;

// Numbers records without end (like the synthetic source).
class CountingReader final : public ExampleReader {
 public:
  absl::Status StartEpoch(uint64_t) override { return absl::OkStatus(); }
  absl::StatusOr<RawExample> Next() override {
    RawExample ex;
    ex.index = next_++;
    return ex;
  }

 private:
  uint64_t next_ = 0;
};

// Fills the first batch's images with random bytes (not zeros, so no page is
// the shared zero page that would flatter the kernel's copy), then blocks
// until shutdown: the pipeline builds exactly one batch, however far ahead
// it reads records.
class FirstBatchDecoder final : public ExampleDecoder {
 public:
  FirstBatchDecoder(size_t image_bytes, int records,
                    std::shared_ptr<absl::Notification> release)
      : image_bytes_(image_bytes),
        records_(records),
        release_(std::move(release)) {}

  absl::Status Decode(const RawExample& example, uint64_t, uint8_t* image,
                      int32_t* label) override {
    if (example.index >= static_cast<uint64_t>(records_)) {
      release_->WaitForNotification();
    }
    FillRandomBytes(kSeed, example.index, image, image_bytes_);
    *label = static_cast<int32_t>(example.index % 1000);
    return absl::OkStatus();
  }

 private:
  const size_t image_bytes_;
  const int records_;
  const std::shared_ptr<absl::Notification> release_;
};

}  // namespace

class PoolServer::BlockingDataset final : public Dataset {
 public:
  BlockingDataset(ExampleShape shape, int records,
                  std::shared_ptr<absl::Notification> release)
      : shape_(shape), records_(records), release_(std::move(release)) {}

  ExampleShape shape() const override { return shape_; }
  uint64_t examples_per_epoch() const override { return 0; }
  std::unique_ptr<ExampleReader> NewReader(SkipSink*) const override {
    return std::make_unique<CountingReader>();
  }
  std::unique_ptr<ExampleDecoder> NewDecoder() const override {
    return std::make_unique<FirstBatchDecoder>(shape_.image_bytes(), records_,
                                               release_);
  }

 private:
  const ExampleShape shape_;
  const int records_;
  const std::shared_ptr<absl::Notification> release_;
};

absl::StatusOr<std::unique_ptr<PoolServer>> PoolServer::Create(
    const PoolServerOptions& options) {
  if (options.batch_size <= 0 || options.height <= 0 || options.width <= 0 ||
      options.pool_size <= 0 || options.chunk_bytes == 0) {
    return absl::InvalidArgumentError(
        "PoolServerOptions: batch_size, height, width, pool_size and "
        "chunk_bytes must be positive");
  }
  std::unique_ptr<PoolServer> server(new PoolServer());
  INPUTSERVE_RETURN_IF_ERROR(server->Start(options));
  return server;
}

absl::Status PoolServer::Start(const PoolServerOptions& options) {
  metrics_ = std::make_unique<ServerMetrics>();
  ExampleShape shape;
  shape.height = options.height;
  shape.width = options.width;
  shape.channels = 3;
  shape.num_classes = 1000;

  PipelineOptions pipeline_options;
  pipeline_options.batch_size = options.batch_size;
  pipeline_options.decode_threads = 1;
  pipeline_options.prefetch_batches = options.prefetch_batches;
  INPUTSERVE_ASSIGN_OR_RETURN(
      std::unique_ptr<Pipeline> pipeline,
      Pipeline::Create(std::make_unique<BlockingDataset>(
                           shape, options.batch_size, release_decoder_),
                       pipeline_options, metrics_.get()));
  pipeline_ = std::move(pipeline);
  INPUTSERVE_ASSIGN_OR_RETURN(BatchPtr first,
                              pipeline_->FirstBatch(absl::Seconds(60)));
  payload_bytes_ = pipeline_->payload_bytes();

  // The pool: distinct buffers, written once, so REAL batches cost the
  // server no work beyond the transport.
  for (int i = 0; i < options.pool_size; ++i) {
    std::shared_ptr<PayloadBuffer> buffer =
        PayloadBuffer::Allocate(payload_bytes_);
    FillRandomBytes(kSeed + 1 + i, 0, buffer->data(), payload_bytes_);
    pool_.push_back(std::move(buffer));
  }

  mode_ = std::make_unique<ModeController>(options.mode);
  BatchWireInfo wire;
  cache_ =
      std::make_unique<SyntheticBatchCache>(first, wire, options.chunk_bytes);
  InputServiceImpl::Options service_options;
  service_options.chunk_bytes = options.chunk_bytes;
  service_options.max_streams = options.max_streams;
  service_options.wire = wire;
  service_options.info = DescribePipeline(*pipeline_, "pool:bench", wire);
  service_ = std::make_unique<InputServiceImpl>(pipeline_.get(), mode_.get(),
                                                cache_.get(), metrics_.get(),
                                                std::move(service_options));

  grpc::ServerBuilder builder;
  // The shipped server's transport settings, so these figures are its own.
  ConfigureServerBuilder(builder);
  for (const auto& [name, value] : options.channel_args) {
    builder.AddChannelArgument(name, value);
  }
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port_);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    Shutdown();
    return absl::UnavailableError("pool server: cannot listen on 127.0.0.1");
  }
  feeder_ = std::thread(
      [this, layouts = pipeline_->layouts()] { FeedLoop(layouts); });
  return absl::OkStatus();
}

void PoolServer::FeedLoop(std::vector<TensorLayout> layouts) {
  // Sequence 0 was the pipeline's own first batch.
  for (uint64_t sequence = 1;; ++sequence) {
    auto batch = std::make_shared<PipelineBatch>();
    batch->sequence = sequence;
    batch->tensors = layouts;
    batch->payload = pool_[sequence % pool_.size()];
    if (!pipeline_->queue().Push(std::move(batch))) return;
  }
}

PoolServer::~PoolServer() { Shutdown(); }

void PoolServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (service_ != nullptr) {
    service_->Drain();
    service_->WaitForStreams(absl::Now() + absl::Seconds(5));
  }
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(500));
    server_->Wait();
  }
  if (pipeline_ != nullptr) pipeline_->queue().Close();
  if (feeder_.joinable()) feeder_.join();
  // The queue is closed first, so the builder, once its decoder returns,
  // sees a closed queue and ends quietly.
  if (!release_decoder_->HasBeenNotified()) release_decoder_->Notify();
  if (pipeline_ != nullptr) pipeline_->Stop();
}

std::string PoolServer::target() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void PoolServer::SetMode(ServingMode mode) { mode_->Set(mode); }

double PoolServer::bytes_sent() const {
  return metrics_->bytes_sent(ServingMode::kReal).Value() +
         metrics_->bytes_sent(ServingMode::kSynthetic).Value();
}

int PoolServer::active_streams() const { return service_->active_streams(); }

const PayloadBuffer& PoolServer::synthetic_payload() const {
  return *cache_->batch()->payload;
}

const PayloadBuffer& PoolServer::payload_for(uint64_t sequence) const {
  if (sequence == 0) return synthetic_payload();
  return *pool_[sequence % pool_.size()];
}

}  // namespace inputserve::bench
