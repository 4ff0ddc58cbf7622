// StreamBatches / WatchMode / GetDatasetInfo against a real server process.
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/integration/server/raw_client.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "integration-token";

class ProtocolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_dir_ = new std::string(MakeTempDir("cifar"));
    CommandResult gen = RunCommand(
        {BinPath("inputserve-datagen"), "--format=cifar10",
         "--out=" + *data_dir_, "--num_examples=250", "--seed=5"});
    ASSERT_EQ(gen.exit_code, 0) << gen.output;
  }
  static void TearDownTestSuite() { delete data_dir_; }

  void StartServer(std::vector<std::string> extra = {}) {
    const std::string dir = MakeTempDir("proto");
    token_file_ = dir + "/token";
    WriteFileOrDie(token_file_, std::string(kToken) + "\n");
    std::vector<std::string> args = {"--dataset=cifar10:" + *data_dir_,
                                     "--batch_size=25", "--augment=false",
                                     "--chunk_bytes=16384",
                                     "--admin_token_file=" + token_file_};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(args);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::InputService::NewStub(Connect(server_->data_target()));
  }

  double Metric(const std::string& sample) {
    absl::StatusOr<std::string> text = HttpGet(server_->metrics_port(), "/metrics");
    EXPECT_TRUE(text.ok()) << text.status();
    absl::StatusOr<double> v = MetricValue(text.value_or(""), sample);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.value_or(-1);
  }

  // Polls /metrics until `sample` reads `value`, for up to 10 s.
  bool WaitForMetric(const std::string& sample, double value) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      absl::StatusOr<std::string> text =
          HttpGet(server_->metrics_port(), "/metrics");
      if (text.ok() && MetricValue(*text, sample).value_or(-1) == value) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  static std::string* data_dir_;
  std::string token_file_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::InputService::Stub> stub_;
};
std::string* ProtocolTest::data_dir_ = nullptr;

TEST_F(ProtocolTest, DatasetInfoDescribesTheBatches) {
  StartServer();
  grpc::ClientContext context;
  v1::DatasetInfo info;
  ASSERT_TRUE(stub_->GetDatasetInfo(&context, {}, &info).ok());
  EXPECT_EQ(info.batch_size(), 25u);
  EXPECT_EQ(info.examples_per_epoch(), 250u);
  EXPECT_EQ(info.num_classes(), 10u);
  ASSERT_EQ(info.tensors_size(), 2);
  EXPECT_EQ(info.tensors(0).name(), "image");
  EXPECT_EQ(info.tensors(0).dtype(), v1::DTYPE_UINT8);
  EXPECT_EQ(std::vector<int64_t>(info.tensors(0).shape().begin(),
                                 info.tensors(0).shape().end()),
            (std::vector<int64_t>{25, 32, 32, 3}));
  EXPECT_EQ(info.tensors(1).name(), "label");
  EXPECT_EQ(info.tensors(1).dtype(), v1::DTYPE_INT32);
  EXPECT_EQ(info.batch_payload_bytes(), 25u * 3072 + 25u * 4);
  EXPECT_EQ(info.mode().mode(), v1::MODE_REAL);
  EXPECT_EQ(info.mode().generation(), 1u);
}

// The bytes on the wire are the CIFAR files' records, NHWC, in file order.
TEST_F(ProtocolTest, RealModeStreamsTheFilesRecordsInOrder) {
  StartServer();
  std::vector<std::string> files;
  for (int i = 1; i <= 5; ++i) {
    files.push_back(absl::StrCat(*data_dir_, "/data_batch_", i, ".bin"));
  }
  CifarRecords expected = ReadCifarFiles(files);
  ASSERT_EQ(expected.labels.size(), 250u);

  BatchReader reader(stub_.get(), "order-test");
  for (int b = 0; b < 12; ++b) {  // 300 records: wraps into epoch 1
    ReceivedBatch batch;
    ASSERT_TRUE(reader.Next(&batch)) << reader.Finish().error_message();
    EXPECT_EQ(batch.header.sequence(), static_cast<uint64_t>(b));
    EXPECT_EQ(batch.header.epoch(), b < 10 ? 0u : 1u);
    EXPECT_EQ(batch.header.mode(), v1::MODE_REAL);
    EXPECT_EQ(batch.header.payload_bytes(), batch.payload.size());
    EXPECT_EQ(batch.chunks, 5);  // 76900 bytes in 16 KiB chunks
    ASSERT_EQ(batch.payload.size(), 25u * 3076);
    for (int i = 0; i < 25; ++i) {
      const size_t record = (b * 25 + i) % 250;
      ASSERT_EQ(std::memcmp(batch.payload.data() + i * 3072,
                            expected.nhwc.data() + record * 3072, 3072),
                0)
          << "batch " << b << " example " << i;
      int32_t label;
      std::memcpy(&label, batch.payload.data() + 25 * 3072 + i * 4, 4);
      EXPECT_EQ(label, expected.labels[record]);
    }
  }
  reader.context().TryCancel();
  EXPECT_EQ(reader.Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_GE(Metric("inputserve_batches_sent_total{mode=\"real\"}"), 12);
  EXPECT_GE(Metric("inputserve_bytes_sent_total{mode=\"real\"}"), 12 * 76900);
  EXPECT_EQ(Metric("inputserve_bytes_sent_total{mode=\"synthetic\"}"), 0);
}

// Two consumers split the stream: each batch goes to exactly one of them.
TEST_F(ProtocolTest, ConcurrentStreamsShareBatchesExactlyOnce) {
  StartServer();
  std::vector<uint64_t> seen[2];
  std::thread consumers[2];
  for (int c = 0; c < 2; ++c) {
    consumers[c] = std::thread([&, c] {
      BatchReader reader(stub_.get(), absl::StrCat("consumer-", c));
      ReceivedBatch batch;
      for (int i = 0; i < 10 && reader.Next(&batch); ++i) {
        seen[c].push_back(batch.header.sequence());
      }
      reader.context().TryCancel();
      reader.Finish();
    });
  }
  for (auto& t : consumers) t.join();
  std::vector<uint64_t> all = seen[0];
  all.insert(all.end(), seen[1].begin(), seen[1].end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), 20u);
  EXPECT_TRUE(std::adjacent_find(all.begin(), all.end()) == all.end())
      << "a batch was delivered twice";
}

TEST_F(ProtocolTest, SyntheticModeServesTheFirstBatchToEveryStream) {
  StartServer({"--mode=synthetic"});
  std::string first_payload;
  for (int stream = 0; stream < 2; ++stream) {
    BatchReader reader(stub_.get(), "synthetic");
    for (int i = 0; i < 3; ++i) {
      ReceivedBatch batch;
      ASSERT_TRUE(reader.Next(&batch));
      EXPECT_EQ(batch.header.mode(), v1::MODE_SYNTHETIC);
      EXPECT_EQ(batch.header.sequence(), 0u);
      if (first_payload.empty()) first_payload = batch.payload;
      EXPECT_EQ(batch.payload, first_payload);
    }
    reader.context().TryCancel();
    reader.Finish();
  }
  EXPECT_GE(Metric("inputserve_batches_sent_total{mode=\"synthetic\"}"), 6);
  EXPECT_EQ(Metric("inputserve_mode"), 1);
  // Synthetic mode decodes nothing beyond the prefetched batches.
  const double decoded = Metric("inputserve_examples_decoded_total");
  BatchReader reader(stub_.get(), "more");
  ReceivedBatch batch;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(reader.Next(&batch));
  EXPECT_EQ(Metric("inputserve_examples_decoded_total"), decoded);
  reader.context().TryCancel();
  reader.Finish();
}

TEST_F(ProtocolTest, WatchModePushesCurrentModeThenEveryChange) {
  StartServer();
  grpc::ClientContext context;
  auto watch = stub_->WatchMode(&context, v1::WatchModeRequest());
  v1::ModeStatus status;
  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.mode(), v1::MODE_REAL);
  EXPECT_EQ(status.generation(), 1u);
  ASSERT_TRUE(SetMode(server_->admin_target(), kToken, v1::MODE_SYNTHETIC).ok());
  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.mode(), v1::MODE_SYNTHETIC);
  EXPECT_EQ(status.generation(), 2u);
  ASSERT_TRUE(SetMode(server_->admin_target(), kToken, v1::MODE_REAL).ok());
  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.mode(), v1::MODE_REAL);
  EXPECT_EQ(status.generation(), 3u);
  EXPECT_GT(status.changed_unix_micros(), 0);
  context.TryCancel();
}

// The stream's next batch after the flip is synthetic: the only real batches
// that still arrive are those the server had sent, or was writing, when the
// flip took effect (flow-control windows let several be in transit).
TEST_F(ProtocolTest, ModeFlipReachesAnOpenStreamAtTheNextBatch) {
  StartServer();
  BatchReader reader(stub_.get(), "flip");
  ReceivedBatch batch;
  ASSERT_TRUE(reader.Next(&batch));
  EXPECT_EQ(batch.header.mode(), v1::MODE_REAL);
  uint64_t real_received = 1;
  ASSERT_TRUE(SetMode(server_->admin_target(), kToken, v1::MODE_SYNTHETIC).ok());
  v1::ServerStatus at_flip;
  ASSERT_TRUE(GetStatus(server_->admin_target(), kToken, &at_flip).ok());
  // Sent before the flip, plus at most the one being written.
  const uint64_t real_limit = at_flip.batches_sent_real() + 1;
  while (true) {
    ASSERT_TRUE(reader.Next(&batch));
    if (batch.header.mode() == v1::MODE_SYNTHETIC) break;
    ++real_received;
    ASSERT_LE(real_received, real_limit)
        << "a real batch started after the flip";
  }
  EXPECT_EQ(batch.header.mode_generation(), 2u);
  // Synthetic from then on, and the server sent no real batch after it.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(reader.Next(&batch));
    EXPECT_EQ(batch.header.mode(), v1::MODE_SYNTHETIC);
  }
  reader.context().TryCancel();
  reader.Finish();
  EXPECT_EQ(Metric("inputserve_batches_sent_total{mode=\"real\"}"),
            static_cast<double>(real_received));
  EXPECT_EQ(Metric("inputserve_mode_changes_total"), 1);
}

TEST_F(ProtocolTest, OverMaxStreamsIsResourceExhausted) {
  StartServer({"--max_streams=1"});
  BatchReader first(stub_.get(), "first");
  ReceivedBatch batch;
  ASSERT_TRUE(first.Next(&batch));
  BatchReader second(stub_.get(), "second");
  EXPECT_FALSE(second.Next(&batch));
  grpc::Status status = second.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("--max_streams=1"));
  first.context().TryCancel();
  first.Finish();
  // The slot frees up once the first stream is gone.
  ASSERT_TRUE(WaitForMetric("inputserve_active_streams", 0));
  BatchReader third(stub_.get(), "third");
  EXPECT_TRUE(third.Next(&batch)) << third.Finish().error_message();
  third.context().TryCancel();
  third.Finish();
}

TEST_F(ProtocolTest, MalformedRequestsAreInvalidArgumentAndServingGoesOn) {
  StartServer();
  BatchReader long_id(stub_.get(), std::string(300, 'x'));
  ReceivedBatch batch;
  EXPECT_FALSE(long_id.Next(&batch));
  grpc::Status status = long_id.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("consumer_id"));

  // Request bytes that are not a StreamBatchesRequest at all.
  grpc::GenericStub generic(Connect(server_->data_target()));
  grpc::ClientContext context;
  grpc::CompletionQueue cq;
  const std::string garbage("\xff\xff\xff\xff\x0f\x01", 6);
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1);
  auto call = generic.PrepareCall(
      &context, "/inputserve.v1.InputService/StreamBatches", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  call->Write(request, reinterpret_cast<void*>(2));
  cq.Next(&tag, &ok);
  call->WritesDone(reinterpret_cast<void*>(3));
  cq.Next(&tag, &ok);
  grpc::Status garbage_status;
  call->Finish(&garbage_status, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  EXPECT_EQ(garbage_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << garbage_status.error_message();

  BatchReader good(stub_.get(), "after-bad-requests");
  EXPECT_TRUE(good.Next(&batch));
  good.context().TryCancel();
  good.Finish();
  EXPECT_TRUE(server_->running());
}

TEST_F(ProtocolTest, HealthServiceReportsServing) {
  StartServer();
  EXPECT_EQ(HealthCheck(server_->data_target()), 1);
}

}  // namespace
}  // namespace inputserve::testing
