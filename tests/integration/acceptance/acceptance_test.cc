// The client library end to end against a real server: real batches equal
// the CIFAR files' records (split over host devices), and synthetic mode
// moves zero bytes per step on both sides until the server flips back.
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "tests/integration/server/raw_client.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

constexpr char kToken[] = "acceptance-token";
constexpr int kBatch = 20;
constexpr int kExamples = 100;

class AcceptanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("acceptance");
    CommandResult gen = RunCommand(
        {BinPath("inputserve-datagen"), "--format=cifar10",
         "--out=" + dir_ + "/data", absl::StrCat("--num_examples=", kExamples),
         "--seed=11"});
    ASSERT_EQ(gen.exit_code, 0) << gen.output;
    WriteFileOrDie(dir_ + "/token", absl::StrCat(kToken, "\n"));
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start({"--dataset=cifar10:" + dir_ + "/data",
                              absl::StrCat("--batch_size=", kBatch),
                              "--augment=false", "--chunk_bytes=8192",
                              "--admin_token_file=" + dir_ + "/token"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<Client> MakeClient(int num_devices) {
    ClientOptions o;
    o.targets = {server_->data_target()};
    o.num_devices = num_devices;
    o.device_kind = DeviceKind::kHost;
    o.unavailable_timeout = absl::Seconds(20);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(o);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // A sample of /metrics; a missing series fails the test (and reads as NaN,
  // which equals nothing).
  double ServerMetric(const std::string& sample) {
    absl::StatusOr<std::string> text =
        HttpGet(server_->metrics_port(), "/metrics");
    EXPECT_TRUE(text.ok()) << text.status();
    absl::StatusOr<double> value = MetricValue(text.value_or(""), sample);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.value_or(std::numeric_limits<double>::quiet_NaN());
  }

  double ServerBytes(const char* mode) {
    return ServerMetric(
        absl::StrCat("inputserve_bytes_sent_total{mode=\"", mode, "\"}"));
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(AcceptanceTest, RealBatchesAreTheFilesRecordsSplitOverDevices) {
  std::vector<std::string> files;
  for (int i = 1; i <= 5; ++i) {
    files.push_back(absl::StrCat(dir_, "/data/data_batch_", i, ".bin"));
  }
  const CifarRecords expected = ReadCifarFiles(files);
  ASSERT_EQ(expected.labels.size(), static_cast<size_t>(kExamples));

  auto client = MakeClient(/*num_devices=*/4);
  ASSERT_NE(client, nullptr);
  constexpr int kPerDevice = kBatch / 4;
  for (int b = 0; b < 7; ++b) {  // 140 records: into the second epoch
    absl::StatusOr<const Batch*> batch = client->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ((*batch)->mode, BatchMode::kReal);
    EXPECT_EQ((*batch)->sequence, static_cast<uint64_t>(b));
    ASSERT_EQ((*batch)->devices.size(), 4u);
    for (int d = 0; d < 4; ++d) {
      const TensorView* image = (*batch)->devices[d].Find("image");
      const TensorView* label = (*batch)->devices[d].Find("label");
      ASSERT_NE(image, nullptr);
      ASSERT_NE(label, nullptr);
      EXPECT_EQ(image->memory, MemoryKind::kHost);
      EXPECT_EQ(image->shape, (std::vector<int64_t>{kPerDevice, 32, 32, 3}));
      for (int i = 0; i < kPerDevice; ++i) {
        const size_t record = (b * kBatch + d * kPerDevice + i) % kExamples;
        ASSERT_EQ(std::memcmp(static_cast<const uint8_t*>(image->data) +
                                  i * 3072,
                              expected.nhwc.data() + record * 3072, 3072),
                  0)
            << "batch " << b << " device " << d << " example " << i;
        int32_t value;
        std::memcpy(&value, static_cast<const uint8_t*>(label->data) + 4 * i,
                    4);
        EXPECT_EQ(value, expected.labels[record]);
      }
    }
  }
}

TEST_F(AcceptanceTest, SyntheticModeMovesZeroBytesPerStepUntilFlippedBack) {
  auto client = MakeClient(/*num_devices=*/2);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Next().ok());
  ASSERT_TRUE(SetMode(server_->admin_target(), kToken, v1::MODE_SYNTHETIC).ok());

  // The first synthetic batch arrives and is cached on every device.
  const Batch* cached = nullptr;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (cached == nullptr && absl::Now() < deadline) {
    absl::StatusOr<const Batch*> batch = client->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    if ((*batch)->mode == BatchMode::kSynthetic) cached = *batch;
  }
  ASSERT_NE(cached, nullptr);
  // The data stream is cancelled once the batch is cached; once the server
  // has closed it, its byte counters are final.
  const absl::Time closed_by = absl::Now() + absl::Seconds(10);
  while (ServerMetric("inputserve_active_streams") != 0 &&
         absl::Now() < closed_by) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(ServerMetric("inputserve_active_streams"), 0);
  const double server_synthetic = ServerBytes("synthetic");
  const double server_real = ServerBytes("real");
  const ClientStats before = client->stats();

  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<const Batch*> batch = client->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_EQ(*batch, cached);
    ASSERT_TRUE((*batch)->from_cache);
  }
  // Nothing may arrive: a short grace lets a stray stream show itself.
  absl::SleepFor(absl::Milliseconds(300));
  const ClientStats after = client->stats();
  EXPECT_EQ(after.bytes_received, before.bytes_received);
  EXPECT_EQ(after.batches_received, before.batches_received);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1000);
  EXPECT_EQ(ServerBytes("synthetic"), server_synthetic);
  EXPECT_EQ(ServerBytes("real"), server_real);

  // Back to real: the client learns it on WatchMode and resumes pulling
  // (the deadline only absorbs a loaded machine; nothing here polls).
  ASSERT_TRUE(SetMode(server_->admin_target(), kToken, v1::MODE_REAL).ok());
  const absl::Time flipped = absl::Now();
  const Batch* real = nullptr;
  while (real == nullptr && absl::Now() - flipped < absl::Seconds(10)) {
    absl::StatusOr<const Batch*> batch = client->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    if ((*batch)->mode == BatchMode::kReal) real = *batch;
  }
  ASSERT_NE(real, nullptr);
  EXPECT_GT(client->stats().bytes_received, after.bytes_received);
  // The server counts a batch when its last write completes, which may be
  // just after the client has the bytes.
  const absl::Time counted_by = absl::Now() + absl::Seconds(10);
  while (ServerBytes("real") <= server_real && absl::Now() < counted_by) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_GT(ServerBytes("real"), server_real);
}

}  // namespace
}  // namespace inputserve::testing
