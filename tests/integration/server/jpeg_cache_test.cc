// --jpeg_cache_bytes on a real server over an imagenet TFRecord dataset: the
// first epoch misses once per record and fills the cache, later epochs hit,
// and the metrics say so; 0 turns it off.
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/server/raw_client.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

constexpr int kRecords = 40;

class JpegCacheServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_dir_ = new std::string(MakeTempDir("jpegcache"));
    CommandResult gen = RunCommand(
        {BinPath("inputserve-datagen"), "--format=tfrecord",
         "--out=" + *data_dir_, "--num_examples=" + std::to_string(kRecords),
         "--min_size=64", "--max_size=160", "--seed=3"});
    ASSERT_EQ(gen.exit_code, 0) << gen.output;
  }
  static void TearDownTestSuite() { delete data_dir_; }

  void StartServer(const std::string& cache_flag,
                   const std::string& dir = *data_dir_) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start({"--dataset=imagenet:" + dir + "/train-*",
                              "--batch_size=10", "--image_size=32",
                              "--admin_listen=", "--prefetch_batches=2",
                              cache_flag});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::InputService::NewStub(Connect(server_->data_target()));
  }

  // The value of `sample` once `done(value)` holds, or the last value read
  // after a generous deadline.
  template <typename Pred>
  double WaitForMetric(const std::string& sample, Pred done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    double v = -1;
    while (absl::Now() < deadline) {
      absl::StatusOr<std::string> text =
          HttpGet(server_->metrics_port(), "/metrics");
      v = text.ok() ? MetricValue(*text, sample).value_or(-1) : -1;
      if (done(v)) return v;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return v;
  }

  // Reads `n` batches on one stream.
  void ReadBatches(int n) {
    BatchReader reader(stub_.get(), "cache-test");
    ReceivedBatch batch;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(reader.Next(&batch)) << i;
    reader.context().TryCancel();
    reader.Finish();
  }

  static std::string* data_dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::InputService::Stub> stub_;
};
std::string* JpegCacheServerTest::data_dir_ = nullptr;

TEST_F(JpegCacheServerTest, FirstEpochFillsLaterEpochsHit) {
  StartServer("--jpeg_cache_bytes=16777216");
  ReadBatches(3 * kRecords / 10);  // Three epochs.
  EXPECT_GE(WaitForMetric("inputserve_jpeg_cache_hits_total",
                          [](double v) { return v >= 2 * kRecords; }),
            2 * kRecords);
  // Each record missed once, in the first epoch (file order, no shuffling).
  EXPECT_EQ(WaitForMetric("inputserve_jpeg_cache_misses_total",
                          [](double v) { return v == kRecords; }),
            kRecords);
  EXPECT_GT(WaitForMetric("inputserve_jpeg_cache_bytes",
                          [](double v) { return v > 0; }),
            0);
  EXPECT_EQ(WaitForMetric("inputserve_jpeg_cache_evictions_total",
                          [](double v) { return v == 0; }),
            0);
}

TEST_F(JpegCacheServerTest, ZeroTurnsItOff) {
  StartServer("--jpeg_cache_bytes=0");
  ReadBatches(2 * kRecords / 10);
  EXPECT_GE(WaitForMetric("inputserve_examples_decoded_total",
                          [](double v) { return v >= 2 * kRecords; }),
            2 * kRecords);
  EXPECT_EQ(WaitForMetric("inputserve_jpeg_cache_misses_total",
                          [](double v) { return v == 0; }),
            0);
  EXPECT_EQ(WaitForMetric("inputserve_jpeg_cache_bytes",
                          [](double v) { return v == 0; }),
            0);
}

// A dataset from inputserve-datagen prepare already has restart markers:
// served through the restart path with the cache left alone.
TEST_F(JpegCacheServerTest, PreparedDatasetBypassesTheCache) {
  const std::string prepared = MakeTempDir("prepared");
  CommandResult prep =
      RunCommand({BinPath("inputserve-datagen"), "prepare",
                  "--in=" + *data_dir_ + "/train-*", "--out=" + prepared});
  ASSERT_EQ(prep.exit_code, 0) << prep.output;
  EXPECT_NE(prep.output.find("40 JPEGs rewritten"), std::string::npos)
      << prep.output;
  StartServer("--jpeg_cache_bytes=16777216", prepared);
  ReadBatches(2 * kRecords / 10);
  EXPECT_GE(WaitForMetric("inputserve_examples_decoded_total",
                          [](double v) { return v >= 2 * kRecords; }),
            2 * kRecords);
  EXPECT_EQ(WaitForMetric("inputserve_decode_errors_total",
                          [](double v) { return v == 0; }),
            0);
  EXPECT_EQ(WaitForMetric("inputserve_jpeg_cache_misses_total",
                          [](double v) { return v == 0; }),
            0);
}

}  // namespace
}  // namespace inputserve::testing
