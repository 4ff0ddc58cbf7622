// --decoded_cache against a real server: the same examples and labels as a
// server without it, every record decoded once, and epoch 2 served from the
// cache (hits grow, misses stay at one per record).
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/server/raw_client.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

constexpr int kRecords = 96;
constexpr int kBatch = 32;
constexpr int kImageSize = 64;
constexpr size_t kImageBytes = kImageSize * kImageSize * 3;
constexpr int kSpillRam = kRecords / 4 * 80 * 80 * 3;

struct Case {
  const char* name;
  const char* format;   // inputserve-datagen --format.
  const char* spec;     // --dataset prefix.
  const char* pattern;  // Files under the data directory.
  bool spill;           // RAM for a third of the records, the rest spills.
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Labels of the first `epochs` epochs, and the metrics afterwards.
struct Served {
  std::vector<int32_t> labels;
  std::vector<uint64_t> epochs;  // Epoch of each label.
  std::string metrics;
};

class DecodedCacheServerTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    data_dir_ = MakeTempDir("dcache_data");
    std::vector<std::string> gen = {
        BinPath("inputserve-datagen"),
        absl::StrCat("--format=", GetParam().format),
        "--out=" + data_dir_,
        absl::StrCat("--num_examples=", kRecords),
        "--seed=11",
        "--min_size=90",
        "--max_size=300",
        "--num_classes=50"};
    if (std::string(GetParam().format) == "webdataset") {
      gen.push_back("--png_fraction=0.25");
    }
    CommandResult r = RunCommand(gen);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // Serves two epochs from a fresh server with `extra` flags; with
  // `cached`, waits until the epoch-2 hits reach /metrics.
  Served Serve(const std::vector<std::string>& extra, bool cached) {
    Served served;
    std::vector<std::string> args = {
        absl::StrCat("--dataset=", GetParam().spec, data_dir_, "/",
                     GetParam().pattern),
        absl::StrCat("--batch_size=", kBatch),
        absl::StrCat("--image_size=", kImageSize),
        "--decode_threads=2",
        "--admin_listen=",
        "--seed=3"};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(args);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return served;
    auto stub = v1::InputService::NewStub(Connect((*server)->data_target()));
    BatchReader reader(stub.get(), "dcache-test");
    for (int b = 0; b < 2 * kRecords / kBatch; ++b) {
      ReceivedBatch batch;
      if (!reader.Next(&batch)) {
        ADD_FAILURE() << reader.Finish().error_message();
        return served;
      }
      EXPECT_EQ(batch.payload.size(), kBatch * (kImageBytes + 4));
      for (int i = 0; i < kBatch; ++i) {
        int32_t label = -1;
        std::memcpy(&label, batch.payload.data() + kBatch * kImageBytes + i * 4,
                    4);
        served.labels.push_back(label);
        served.epochs.push_back(batch.header.epoch());
      }
    }
    reader.context().TryCancel();
    // Epoch 2 is fully decoded once its batches arrived; wait for the last
    // hits to reach /metrics.
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    do {
      served.metrics =
          HttpGet((*server)->metrics_port(), "/metrics").value_or("");
      if (MetricValue(served.metrics, "inputserve_decoded_cache_hits_total")
              .value_or(0) >= kRecords) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    } while (cached && absl::Now() < deadline);
    return served;
  }

  std::string data_dir_;
};

TEST_P(DecodedCacheServerTest, SameExamplesAndLabelsAndEpochTwoHits) {
  const Served plain = Serve({}, /*cached=*/false);
  std::vector<std::string> flags = {"--decoded_cache=ram"};
  std::string spill_dir;
  if (GetParam().spill) {
    spill_dir = MakeTempDir("dcache_spill");
    // RAM for a quarter of the records at most (each keeps >= 80x80
    // pixels, or its own size when smaller: >= 90x90 here); the rest spills.
    flags = {"--decoded_cache=" + spill_dir,
             absl::StrCat("--decoded_cache_bytes=", kSpillRam),
             "--decoded_cache_spill_bytes=100000000"};
  }
  const Served cached = Serve(flags, /*cached=*/true);
  ASSERT_EQ(plain.labels.size(), 2u * kRecords);
  ASSERT_EQ(cached.labels.size(), 2u * kRecords);
  EXPECT_EQ(cached.labels, plain.labels);
  EXPECT_EQ(cached.epochs, plain.epochs);
  for (int32_t label : cached.labels) {
    EXPECT_GE(label, 0);
    EXPECT_LT(label, 50);
  }
  // Every record missed once (epoch 1) and hit in epoch 2.
  EXPECT_EQ(MetricValue(cached.metrics, "inputserve_decoded_cache_misses_total")
                .value_or(-1),
            kRecords)
      << cached.metrics;
  EXPECT_GE(MetricValue(cached.metrics, "inputserve_decoded_cache_hits_total")
                .value_or(-1),
            kRecords);
  EXPECT_GT(MetricValue(cached.metrics, "inputserve_decoded_cache_bytes")
                .value_or(-1),
            0);
  if (GetParam().spill) {
    EXPECT_GT(MetricValue(cached.metrics, "inputserve_decoded_cache_bytes")
                  .value_or(-1),
              kSpillRam);
  }
  // Without the flag the series exist at 0.
  EXPECT_EQ(MetricValue(plain.metrics, "inputserve_decoded_cache_hits_total")
                .value_or(-1),
            0);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, DecodedCacheServerTest,
    ::testing::Values(Case{"TfrecordRam", "tfrecord", "imagenet:", "train-*",
                           false},
                      Case{"WebdatasetPngSpill", "webdataset",
                           "webdataset:", "shard-*.tar", true}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(DecodedCacheStartupTest, BadFlagsStopTheServerWithAClearMessage) {
  for (const BadStart& bad : {
           BadStart{"margin",
                    {"--decoded_cache=ram", "--decoded_cache_margin=0.5"},
                    "--decoded_cache_margin=0.5"},
           BadStart{"dir",
                    {"--decoded_cache=/nonexistent/dcache"},
                    "/nonexistent/dcache"},
       }) {
    SCOPED_TRACE(bad.name);
    const std::string dir = MakeTempDir("dcache_bad");
    CommandResult gen = RunCommand(
        {BinPath("inputserve-datagen"), "--format=tfrecord", "--out=" + dir,
         "--num_examples=4", "--min_size=64", "--max_size=80"});
    ASSERT_EQ(gen.exit_code, 0) << gen.output;
    BadStart with_dataset = bad;
    with_dataset.args.push_back("--dataset=imagenet:" + dir + "/train-*");
    ExpectStartFails(with_dataset, {"--listen=127.0.0.1:0",
                                    "--admin_listen=", "--metrics_listen="});
  }
}

}  // namespace
}  // namespace inputserve::testing
