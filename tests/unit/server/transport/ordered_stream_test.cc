// Deterministic-order streams against in-process servers, read with plain
// generated stubs: the batches are a pure function of the request and the
// flags (not of the replica or --decode_threads), resume from a step,
// evaluation epochs, bad requests, and synthetic mode.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/data_order.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inputserve/v1/admin_service.grpc.pb.h"
#include "inputserve/v1/input_service.grpc.pb.h"
#include "server/server.h"
#include "server/tools/datagen.h"
#include "tests/testing/server_process.h"
#include "tests/unit/server/sources/source_test_util.h"

namespace inputserve {
namespace {

constexpr uint32_t kBatch = 8;
// 5 CIFAR files of 20 records: with 2 shards, shard 0 owns files 0, 2, 4
// (60 records: 7 full batches and one of 4), shard 1 files 1, 3 (40).
constexpr uint64_t kExamples = 100;

struct Received {
  v1::BatchHeader header;
  std::string payload;
};

struct StreamResult {
  std::vector<Received> batches;
  grpc::Status status;
};

std::string DataDir() {
  static const std::string* dir = [] {
    auto* d = new std::string(testing::NewTempDir("order_cifar"));
    DatagenOptions options;
    options.format = DatagenOptions::Format::kCifar10;
    options.out_dir = *d;
    options.num_examples = kExamples;
    options.seed = 3;
    absl::StatusOr<std::vector<std::string>> written = WriteDataset(options);
    EXPECT_TRUE(written.ok()) << written.status();
    return d;
  }();
  return *dir;
}

struct ServerFlags {
  std::string spec;  // Empty: the CIFAR data.
  uint32_t shard_index = 0;
  uint32_t num_shards = 1;
  int decode_threads = 1;
  uint64_t seed = 11;
  int batch_size = kBatch;
  bool metrics = false;  // Serve /metrics on a free port.
};

ServerFlags Threads(int n) {
  ServerFlags f;
  f.decode_threads = n;
  return f;
}
ServerFlags Seed(uint64_t seed) {
  ServerFlags f;
  f.seed = seed;
  return f;
}
ServerFlags Shard(uint32_t index, uint32_t count) {
  ServerFlags f;
  f.shard_index = index;
  f.num_shards = count;
  return f;
}
ServerFlags Spec(std::string spec) {
  ServerFlags f;
  f.spec = std::move(spec);
  return f;
}

class TestServer {
 public:
  explicit TestServer(const ServerFlags& flags) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.admin_listen = "127.0.0.1:0";
    options.admin_insecure_no_auth = true;
    options.metrics_listen = flags.metrics ? "127.0.0.1:0" : "";
    options.dataset.spec =
        flags.spec.empty() ? "cifar10:" + DataDir() : flags.spec;
    options.dataset.augment = true;  // Seeds matter: crops and flips.
    options.dataset.seed = flags.seed;
    options.dataset.shard_index = flags.shard_index;
    options.dataset.num_shards = flags.num_shards;
    options.batch_size = flags.batch_size;
    options.decode_threads = flags.decode_threads;
    options.prefetch_batches = 2;
    options.drain_timeout = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Create(std::move(options));
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return;
    server_ = *std::move(server);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->ports().data),
                            grpc::InsecureChannelCredentials());
    stub_ = v1::InputService::NewStub(channel_);
  }

  bool ok() const { return server_ != nullptr; }
  Server& server() { return *server_; }

  double Metric(const std::string& sample) {
    absl::StatusOr<std::string> text =
        testing::HttpGet(server_->ports().metrics, "/metrics");
    EXPECT_TRUE(text.ok()) << text.status();
    return testing::MetricValue(text.value_or(""), sample).value_or(-1);
  }
  v1::InputService::Stub* stub() { return stub_.get(); }

  v1::DatasetInfo Info() {
    grpc::ClientContext context;
    v1::DatasetInfo info;
    grpc::Status s = stub_->GetDatasetInfo(&context, {}, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info;
  }

  grpc::Status SetMode(v1::Mode mode) {
    auto admin = v1::AdminService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->ports().admin),
                            grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    v1::SetModeRequest request;
    request.set_mode(mode);
    v1::ModeStatus out;
    return admin->SetMode(&context, request, &out);
  }

 private:
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::InputService::Stub> stub_;
};

// Reads whole batches from one StreamBatches call.
class Stream {
 public:
  Stream(v1::InputService::Stub* stub, const v1::StreamBatchesRequest& request)
      : reader_(stub->StreamBatches(&context_, request)) {}

  bool Next(Received* out) {
    *out = Received();
    v1::BatchChunk chunk;
    while (reader_->Read(&chunk)) {
      if (chunk.has_header()) out->header = chunk.header();
      out->payload += chunk.data();
      if (chunk.last()) return true;
    }
    return false;
  }
  grpc::Status Finish() { return reader_->Finish(); }
  void Cancel() { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::BatchChunk>> reader_;
};

v1::StreamBatchesRequest Request(const std::vector<uint64_t>& shard_examples,
                                 uint32_t rank, uint32_t world_size,
                                 uint64_t start_step, uint64_t end_step,
                                 bool drop_remainder) {
  v1::StreamBatchesRequest r;
  r.set_consumer_id("ordered-test");
  r.set_ordering(v1::ORDERING_DETERMINISTIC);
  r.set_rank(rank);
  r.set_world_size(world_size);
  r.set_start_step(start_step);
  r.set_end_step(end_step);
  r.set_drop_remainder(drop_remainder);
  r.set_batch_size(kBatch);
  for (uint64_t n : shard_examples) r.add_shard_examples(n);
  return r;
}

// A stream that must end by itself (end_step set).
StreamResult ReadAll(TestServer& server,
                     const v1::StreamBatchesRequest& request) {
  Stream stream(server.stub(), request);
  StreamResult result;
  Received batch;
  while (stream.Next(&batch)) result.batches.push_back(batch);
  result.status = stream.Finish();
  return result;
}

uint64_t BatchRows(const Received& r) {
  return r.header.tensors_size() > 0 ? r.header.tensors(0).shape(0) : 0;
}

// Splits a batch's payload into per-example image bytes.
std::vector<std::string> Images(const Received& r) {
  const uint64_t rows = BatchRows(r);
  std::vector<std::string> images;
  if (rows == 0) return images;
  const size_t image_bytes = (r.payload.size() - rows * 4) / rows;
  for (uint64_t i = 0; i < rows; ++i) {
    images.push_back(r.payload.substr(i * image_bytes, image_bytes));
  }
  return images;
}

TEST(OrderedStreamTest, DatasetInfoListsBothOrderingsAndAFingerprint) {
  TestServer a{ServerFlags()};
  TestServer b(Threads(2));
  TestServer other_seed(Seed(12));
  ASSERT_TRUE(a.ok() && b.ok() && other_seed.ok());
  const v1::DatasetInfo info = a.Info();
  ASSERT_EQ(info.orderings_size(), 2);
  EXPECT_EQ(info.orderings(0), v1::ORDERING_ARRIVAL);
  EXPECT_EQ(info.orderings(1), v1::ORDERING_DETERMINISTIC);
  EXPECT_NE(info.order_fingerprint(), 0u);
  // --decode_threads does not change the order; --seed does.
  EXPECT_EQ(b.Info().order_fingerprint(), info.order_fingerprint());
  EXPECT_NE(other_seed.Info().order_fingerprint(), info.order_fingerprint());

  TestServer synthetic(Spec("synthetic:cifar10"));
  ASSERT_TRUE(synthetic.ok());
  const v1::DatasetInfo s = synthetic.Info();
  ASSERT_EQ(s.orderings_size(), 1);
  EXPECT_EQ(s.orderings(0), v1::ORDERING_ARRIVAL);
  EXPECT_EQ(s.order_fingerprint(), 0u);
}

TEST(OrderedStreamTest, SameBatchesAcrossReplicasDecodeThreadsAndResume) {
  TestServer one(Threads(1));
  TestServer two(Threads(2));
  ASSERT_TRUE(one.ok() && two.ok());
  // 100 examples / 8 = 12 full batches per epoch; 30 steps cross two epoch
  // boundaries.
  const auto request = Request({kExamples}, 0, 1, 0, 30, true);
  StreamResult a = ReadAll(one, request);
  StreamResult b = ReadAll(two, request);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  ASSERT_TRUE(b.status.ok()) << b.status.error_message();
  ASSERT_EQ(a.batches.size(), 30u);
  ASSERT_EQ(b.batches.size(), 30u);
  for (size_t i = 0; i < a.batches.size(); ++i) {
    const v1::BatchHeader& h = a.batches[i].header;
    EXPECT_TRUE(h.deterministic());
    EXPECT_EQ(h.step(), i);
    EXPECT_EQ(h.epoch(), i / 12);
    EXPECT_EQ(h.batch_index(), i % 12);
    EXPECT_EQ(BatchRows(a.batches[i]), kBatch);
    EXPECT_EQ(b.batches[i].header.step(), i);
    EXPECT_TRUE(a.batches[i].payload == b.batches[i].payload)
        << "step " << i << " differs across servers / decode threads";
  }
  // A different epoch is a different order (and augmentation).
  EXPECT_NE(a.batches[0].payload, a.batches[12].payload);

  // Resume at step 17: exactly the uninterrupted run's batches from 17 on.
  StreamResult resumed = ReadAll(two, Request({kExamples}, 0, 1, 17, 30, true));
  ASSERT_TRUE(resumed.status.ok()) << resumed.status.error_message();
  ASSERT_EQ(resumed.batches.size(), 13u);
  for (size_t i = 0; i < resumed.batches.size(); ++i) {
    EXPECT_EQ(resumed.batches[i].header.step(), 17 + i);
    EXPECT_TRUE(resumed.batches[i].payload == a.batches[17 + i].payload)
        << "resumed step " << 17 + i;
  }
}

// Every example exactly once per epoch over all ranks (drop_remainder off),
// for world sizes 1..5 over two shards; full, equal shares with it on.
TEST(OrderedStreamTest, EvaluationEpochCoversEveryExampleOnce) {
  TestServer shard0(Shard(0, 2));
  TestServer shard1(Shard(1, 2));
  ASSERT_TRUE(shard0.ok() && shard1.ok());
  const std::vector<uint64_t> layout = {shard0.Info().examples_per_epoch(),
                                        shard1.Info().examples_per_epoch()};
  ASSERT_EQ(layout[0] + layout[1], kExamples);
  TestServer* servers[2] = {&shard0, &shard1};

  std::multiset<std::string> reference;
  for (uint32_t world = 1; world <= 5; ++world) {
    std::multiset<std::string> seen;
    std::vector<uint64_t> full_batches(world, 0);
    for (bool drop : {false, true}) {
      for (uint32_t rank = 0; rank < world; ++rank) {
        absl::StatusOr<RankPlan> plan =
            RankPlan::Create(ShardLayout{kBatch, layout}, rank, world, drop);
        ASSERT_TRUE(plan.ok()) << plan.status();
        const uint64_t steps = plan->steps_per_epoch();
        std::map<uint64_t, Received> by_step;
        for (uint32_t s = 0; s < 2; ++s) {
          StreamResult r = ReadAll(
              *servers[s], Request(layout, rank, world, 0, steps, drop));
          ASSERT_TRUE(r.status.ok()) << r.status.error_message();
          for (const Received& b : r.batches) {
            const PlannedBatch p = plan->At(b.header.step());
            EXPECT_EQ(p.shard, s);
            EXPECT_EQ(b.header.shard_index(), s);
            EXPECT_EQ(b.header.batch_index(), p.index);
            EXPECT_EQ(BatchRows(b), p.size);
            by_step[b.header.step()] = b;
          }
        }
        ASSERT_EQ(by_step.size(), steps)
            << "world " << world << " rank " << rank;
        for (const auto& [step, b] : by_step) {
          if (drop) {
            EXPECT_EQ(BatchRows(b), kBatch);
            ++full_batches[rank];
          } else {
            for (const std::string& image : Images(b)) seen.insert(image);
          }
        }
      }
    }
    // drop_remainder: every rank the same number of full batches.
    for (uint32_t rank = 1; rank < world; ++rank) {
      EXPECT_EQ(full_batches[rank], full_batches[0]) << "world " << world;
    }
    EXPECT_EQ(seen.size(), kExamples) << "world " << world;
    if (world == 1) {
      reference = seen;
      // Every example distinct, so the multiset shows "exactly once".
      EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(),
                kExamples);
    } else {
      EXPECT_TRUE(seen == reference) << "world " << world;
    }
  }
}

TEST(OrderedStreamTest, ShortLastBatchAndEndStep) {
  TestServer shard0(Shard(0, 2));
  ASSERT_TRUE(shard0.ok());
  // Shard 0 has 60 examples: 8 batches, the last of 4; shard 1 has 5. One
  // rank, round-robin over the shards: shard 0's batches are steps 0, 2, 4,
  // 6, 8 (shared rounds), then 10, 11, 12 (shard 1 has run out).
  const std::vector<uint64_t> layout = {60, 40};
  StreamResult r = ReadAll(shard0, Request(layout, 0, 1, 0, 12, false));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  std::vector<uint64_t> steps;
  for (const Received& b : r.batches) steps.push_back(b.header.step());
  // end_step 12 leaves out step 12.
  EXPECT_EQ(steps, (std::vector<uint64_t>{0, 2, 4, 6, 8, 10, 11}));
  StreamResult last = ReadAll(shard0, Request(layout, 0, 1, 12, 13, false));
  ASSERT_TRUE(last.status.ok());
  ASSERT_EQ(last.batches.size(), 1u);
  EXPECT_EQ(last.batches[0].header.batch_index(), 7u);
  EXPECT_EQ(BatchRows(last.batches[0]), 4u);
  EXPECT_EQ(last.batches[0].payload.size(), 4u * (32 * 32 * 3 + 4));
  EXPECT_EQ(last.batches[0].header.payload_bytes(), 4u * (32 * 32 * 3 + 4));
}

TEST(OrderedStreamTest, RankWithNoStepOnThisShardGetsAnEmptyStream) {
  TestServer shard1(Shard(1, 2));
  ASSERT_TRUE(shard1.ok());
  // Equal shards, world size 2: rank 0 takes positions 0, 2, 4, ... which
  // all fall on shard 0.
  StreamResult r = ReadAll(shard1, Request({40, 40}, 0, 2, 0, 0, true));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.batches.empty());
}

TEST(OrderedStreamTest, BadRequestsGetClearCodesAndArrivalKeepsWorking) {
  TestServer server{ServerFlags()};
  TestServer synthetic(Spec("synthetic:cifar10"));
  ASSERT_TRUE(server.ok() && synthetic.ok());
  struct Case {
    v1::StreamBatchesRequest request;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases;
  auto add = [&](v1::StreamBatchesRequest r, grpc::StatusCode code,
                 std::string message) {
    cases.push_back({std::move(r), code, std::move(message)});
  };
  add(Request({kExamples}, 0, 0, 0, 0, true),
      grpc::StatusCode::INVALID_ARGUMENT, "world_size");
  add(Request({kExamples}, 3, 3, 0, 0, true),
      grpc::StatusCode::INVALID_ARGUMENT, "rank 3");
  auto batch = Request({kExamples}, 0, 1, 0, 0, true);
  batch.set_batch_size(16);
  add(batch, grpc::StatusCode::FAILED_PRECONDITION, "batch_size 16");
  add(Request({kExamples, 10}, 0, 1, 0, 0, true),
      grpc::StatusCode::FAILED_PRECONDITION, "shard_examples lists 2");
  add(Request({kExamples - 1}, 0, 1, 0, 0, true),
      grpc::StatusCode::FAILED_PRECONDITION, "shard_examples[0] is 99");
  // 12 full batches cannot give 13 ranks one each.
  add(Request({kExamples}, 0, 13, 0, 0, true),
      grpc::StatusCode::FAILED_PRECONDITION, "world_size 13");
  auto ordering = Request({kExamples}, 0, 1, 0, 0, true);
  ordering.set_ordering(static_cast<v1::Ordering>(7));
  add(ordering, grpc::StatusCode::INVALID_ARGUMENT, "ordering");
  for (const Case& c : cases) {
    StreamResult r = ReadAll(server, c.request);
    EXPECT_EQ(r.status.error_code(), c.code) << r.status.error_message();
    EXPECT_NE(r.status.error_message().find(c.message), std::string::npos)
        << r.status.error_message();
    EXPECT_TRUE(r.batches.empty());
  }
  StreamResult unbounded = ReadAll(synthetic, Request({0}, 0, 1, 0, 0, true));
  EXPECT_EQ(unbounded.status.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(unbounded.status.error_message().find("no deterministic order"),
            std::string::npos)
      << unbounded.status.error_message();

  // Arrival streams (no ordering field, as old clients send) still work.
  v1::StreamBatchesRequest arrival;
  arrival.set_consumer_id("old-client");
  Stream stream(server.stub(), arrival);
  Received b;
  ASSERT_TRUE(stream.Next(&b));
  EXPECT_FALSE(b.header.deterministic());
  EXPECT_EQ(BatchRows(b), kBatch);
  stream.Cancel();
  stream.Finish();
}

// The batch of `step` as a fresh stream serves it.
Received StepBatch(TestServer& server, uint64_t step) {
  StreamResult r =
      ReadAll(server, Request({kExamples}, 0, 1, step, step + 1, true));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.batches.size(), 1u);
  return r.batches.empty() ? Received() : r.batches[0];
}

TEST(OrderedStreamTest, SyntheticModeDoesNotConsumeAStep) {
  TestServer server{ServerFlags()};
  ASSERT_TRUE(server.ok());
  // A stream that opens in synthetic mode gets the cached batch carrying
  // its first step, again and again.
  ASSERT_TRUE(server.SetMode(v1::MODE_SYNTHETIC).ok());
  Stream stream(server.stub(), Request({kExamples}, 0, 1, 5, 0, true));
  Received b;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(stream.Next(&b));
    EXPECT_EQ(b.header.mode(), v1::MODE_SYNTHETIC);
    EXPECT_TRUE(b.header.deterministic());
    EXPECT_EQ(b.header.step(), 5u);
    EXPECT_EQ(b.header.batch_index(), 5u);
  }
  // Back to real: the stream continues with exactly step 5 (batches still
  // in flight may be synthetic, with that step).
  ASSERT_TRUE(server.SetMode(v1::MODE_REAL).ok());
  do {
    ASSERT_TRUE(stream.Next(&b));
    EXPECT_EQ(b.header.step(), 5u);
  } while (b.header.mode() == v1::MODE_SYNTHETIC);
  uint64_t next = 5;
  EXPECT_TRUE(b.payload == StepBatch(server, next).payload);
  ++next;

  // A flip mid-stream: real batches the server had already written keep
  // the sequence; the synthetic ones carry the next step, unconsumed.
  ASSERT_TRUE(server.SetMode(v1::MODE_SYNTHETIC).ok());
  int synthetic = 0;
  for (int i = 0; i < 5000 && synthetic < 3; ++i) {
    ASSERT_TRUE(stream.Next(&b));
    EXPECT_EQ(b.header.step(), next);
    if (b.header.mode() == v1::MODE_SYNTHETIC) {
      ++synthetic;
    } else {
      ++next;
    }
  }
  ASSERT_EQ(synthetic, 3);
  ASSERT_TRUE(server.SetMode(v1::MODE_REAL).ok());
  do {
    ASSERT_TRUE(stream.Next(&b));
    EXPECT_EQ(b.header.step(), next);
  } while (b.header.mode() == v1::MODE_SYNTHETIC);
  EXPECT_TRUE(b.payload == StepBatch(server, next).payload) << "step " << next;
  ASSERT_TRUE(stream.Next(&b));
  EXPECT_EQ(b.header.step(), next + 1);
  stream.Cancel();
  stream.Finish();
}

TEST(OrderedStreamTest, UnreadableRecordEndsTheStreamWithUnavailable) {
  // A private copy of the data, so a file can vanish under the server.
  const std::string dir = testing::NewTempDir("order_vanish");
  for (int f = 1; f <= 5; ++f) {
    const std::string name = absl::StrCat("/data_batch_", f, ".bin");
    testing::WriteBytes(dir + name, testing::ReadBytes(DataDir() + name));
  }
  ServerFlags flags = Spec("cifar10:" + dir);
  flags.metrics = true;
  TestServer server(flags);
  ASSERT_TRUE(server.ok());
  for (int f = 1; f <= 5; ++f) {
    ASSERT_EQ(std::remove(absl::StrCat(dir, "/data_batch_", f, ".bin").c_str()),
              0);
  }
  StreamResult r = ReadAll(server, Request({kExamples}, 0, 1, 0, 3, true));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << r.status.error_message();
  EXPECT_NE(r.status.error_message().find("cannot read record"),
            std::string::npos)
      << r.status.error_message();
  EXPECT_EQ(
      server.Metric("inputserve_stream_errors_total{reason=\"read_failed\"}"),
      1);
}

TEST(OrderedStreamTest, ShutdownDrainsDeterministicStreams) {
  ServerFlags flags;
  flags.metrics = true;
  TestServer server(flags);
  ASSERT_TRUE(server.ok());
  Stream stream(server.stub(), Request({kExamples}, 0, 1, 0, 0, true));
  Received b;
  ASSERT_TRUE(stream.Next(&b));
  EXPECT_EQ(server.Metric("inputserve_deterministic_streams"), 1);
  EXPECT_GE(server.Metric("inputserve_deterministic_batches_built_total"), 1);
  std::thread shutdown([&server] { server.server().Shutdown(); });
  while (stream.Next(&b)) {
  }
  const grpc::Status s = stream.Finish();
  shutdown.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

// ImageNet-style TFRecords: random access through the offset index, JPEG
// decode with random-resized-crop seeded per example.
TEST(OrderedStreamTest, TfrecordBatchesMatchAcrossDecodeThreads) {
  const std::string dir = testing::NewTempDir("order_tfr");
  DatagenOptions gen;
  gen.format = DatagenOptions::Format::kTfrecord;
  gen.out_dir = dir;
  gen.num_examples = 40;
  gen.seed = 4;
  gen.min_size = 40;
  gen.max_size = 64;
  gen.num_classes = 10;
  ASSERT_TRUE(WriteDataset(gen).ok());
  std::unique_ptr<TestServer> servers[2];
  for (int threads : {1, 2}) {
    ServerFlags flags = Spec("imagenet:" + dir + "/*");
    flags.decode_threads = threads;
    servers[threads - 1] = std::make_unique<TestServer>(flags);
    ASSERT_TRUE(servers[threads - 1]->ok());
  }
  const v1::DatasetInfo info = servers[0]->Info();
  ASSERT_EQ(info.orderings_size(), 2);
  EXPECT_EQ(servers[1]->Info().order_fingerprint(), info.order_fingerprint());
  // 40 / 8 = 5 batches per epoch; 12 steps cross two boundaries.
  const auto request = Request({40}, 0, 1, 0, 12, true);
  StreamResult a = ReadAll(*servers[0], request);
  StreamResult b = ReadAll(*servers[1], request);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  ASSERT_TRUE(b.status.ok()) << b.status.error_message();
  ASSERT_EQ(a.batches.size(), 12u);
  ASSERT_EQ(b.batches.size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(a.batches[i].header.step(), i);
    EXPECT_EQ(BatchRows(a.batches[i]), kBatch);
    EXPECT_TRUE(a.batches[i].payload == b.batches[i].payload) << "step " << i;
  }
}

}  // namespace
}  // namespace inputserve
