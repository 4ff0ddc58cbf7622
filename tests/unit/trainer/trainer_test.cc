#include "trainer_example/trainer.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/trainer/fake_client.h"
#ifdef INPUTSERVE_TRAINER_WITH_CUDA
#include "trainer_example/linear_model_gpu.h"
#endif

namespace inputserve::trainer {
namespace {

using testing::FakeClient;
using testing::FakeClientOptions;
using ::testing::HasSubstr;

TrainerOptions Options(int steps, int num_gpus = 0) {
  TrainerOptions options;
  options.servers = {"fake:1"};
  options.steps = steps;
  options.num_gpus = num_gpus;
  options.log_every = 10;
  options.learning_rate = 0.05f;
  options.num_classes = 4;
  return options;
}

struct RunResult {
  absl::StatusOr<TrainSummary> summary;
  std::string log;
  std::unique_ptr<Trainer> trainer;
};

RunResult Train(const TrainerOptions& options, FakeClient* client) {
  RunResult result{absl::UnknownError("not run"), "", nullptr};
  std::ostringstream log;
  absl::StatusOr<std::unique_ptr<Trainer>> trainer =
      Trainer::Create(options, client, &log);
  if (!trainer.ok()) {
    result.summary = trainer.status();
    return result;
  }
  result.summary = (*trainer)->Run();
  result.log = log.str();
  result.trainer = *std::move(trainer);
  return result;
}

TEST(TrainerTest, LossFallsOnClassStructuredImages) {
  FakeClient client(FakeClientOptions{});
  RunResult r = Train(Options(60), &client);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_NEAR(r.summary->first_loss, std::log(4.0), 1e-4);
  EXPECT_LT(r.summary->final_loss, 0.5 * r.summary->first_loss) << r.log;
  EXPECT_EQ(r.summary->steps, 60);
  EXPECT_GT(r.summary->examples_per_sec, 0);
  EXPECT_EQ(r.summary->final_mode, BatchMode::kReal);
  EXPECT_EQ(r.summary->bytes_received, client.stats().bytes_received);
}

TEST(TrainerTest, PrintsAKerasStyleLineEveryLogEverySteps) {
  FakeClient client(FakeClientOptions{});
  TrainerOptions options = Options(25);
  options.log_every = 10;
  RunResult r = Train(options, &client);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  const std::regex line(
      R"(step (\d+)/25 \[[=>.]{20}\] - loss: \d+\.\d{4} - \d+\.\d examples/s )"
      R"(- input wait: \d+\.\d% - mode: real)");
  std::vector<int> steps;
  std::istringstream in(r.log);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line)) steps.push_back(std::stoi(m[1]));
  }
  EXPECT_EQ(steps, (std::vector<int>{10, 20, 25})) << r.log;
  EXPECT_THAT(r.log, HasSubstr("features 8x8x3"));
}

TEST(TrainerTest, HostDevicesAverageToTheSingleDeviceModel) {
  FakeClientOptions one;
  FakeClientOptions four = one;
  four.num_devices = 4;
  FakeClient client_one(one), client_four(four);
  RunResult a = Train(Options(15, 0), &client_one);
  RunResult b = Train(Options(15, 4), &client_four);
  ASSERT_TRUE(a.summary.ok()) << a.summary.status();
  ASSERT_TRUE(b.summary.ok()) << b.summary.status();
  const LinearModel& ma = *a.trainer->model();
  const LinearModel& mb = *b.trainer->model();
  ASSERT_EQ(ma.weights.size(), mb.weights.size());
  for (size_t i = 0; i < ma.weights.size(); ++i) {
    ASSERT_NEAR(ma.weights[i], mb.weights[i], 1e-4) << i;
  }
  EXPECT_NEAR(a.summary->final_loss, b.summary->final_loss, 1e-4);
  EXPECT_THAT(b.log, HasSubstr("4 devices"));
}

TEST(TrainerTest, ReportsTheModeFlipAndFinalMode) {
  FakeClientOptions fake;
  fake.synthetic_from = 6;
  FakeClient client(fake);
  TrainerOptions options = Options(12);
  options.log_every = 4;
  RunResult r = Train(options, &client);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.summary->final_mode, BatchMode::kSynthetic);
  EXPECT_THAT(r.log, HasSubstr("step 6: input mode changed real -> synthetic"));
  EXPECT_THAT(r.log, HasSubstr("mode: synthetic"));
  // Only the five real batches moved bytes.
  EXPECT_EQ(r.summary->bytes_received, 5u * (32 * 8 * 8 * 3 + 32 * 4));
}

TEST(TrainerTest, InputWaitShowsWhenNextIsSlow) {
  FakeClientOptions fake;
  fake.delay = absl::Milliseconds(20);
  FakeClient client(fake);
  RunResult r = Train(Options(6), &client);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_GT(r.summary->input_wait_pct, 50.0);
  EXPECT_LE(r.summary->input_wait_pct, 100.0);
  EXPECT_LT(r.summary->examples_per_sec, 32 / 0.02 + 1);
}

TEST(TrainerTest, ClientFailureNamesTheStep) {
  FakeClientOptions fake;
  fake.fail_at = 3;
  FakeClient client(fake);
  RunResult r = Train(Options(10), &client);
  EXPECT_EQ(r.summary.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.summary.status().message(),
              HasSubstr("step 3: reading the next batch: server went away"));
}

TEST(TrainerTest, OutOfRangeLabelsNameNumClasses) {
  FakeClientOptions fake;
  fake.label_limit = 9;
  FakeClient client(fake);
  RunResult r = Train(Options(10), &client);
  EXPECT_EQ(r.summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.summary.status().message(), HasSubstr("--num_classes"));
}

TEST(TrainerTest, MissingLabelTensorIsAClearError) {
  FakeClientOptions fake;
  fake.omit_labels = true;
  FakeClient client(fake);
  RunResult r = Train(Options(3), &client);
  EXPECT_EQ(r.summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.summary.status().message(), HasSubstr("'label'"));
}

TEST(TrainerTest, LargeImagesArePooledAndClassCountInferred) {
  FakeClientOptions fake;
  fake.height = fake.width = 64;
  fake.batch_size = 8;
  FakeClient client(fake);
  TrainerOptions options = Options(2);
  options.num_classes = 0;  // 64x64 is not CIFAR: 1001 classes.
  options.feature_side = 16;
  RunResult r = Train(options, &client);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.trainer->model()->num_features, 16 * 16 * 3);
  EXPECT_EQ(r.trainer->model()->num_classes, 1001);
  EXPECT_NEAR(r.summary->first_loss, std::log(1001.0), 1e-3);
}

TEST(TrainerTest, ClassCountComesFromTheServersInfo) {
  FakeClientOptions fake;
  fake.height = fake.width = 64;
  fake.batch_size = 8;
  fake.info_num_classes = 7;
  FakeClient client(fake);
  TrainerOptions options = Options(2);
  options.num_classes = 0;
  options.feature_side = 16;
  RunResult r = Train(options, &client);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.trainer->model()->num_classes, 7);
  EXPECT_NEAR(r.summary->first_loss, std::log(7.0), 1e-3);
}

TEST(TrainerTest, InvalidOptionsFailCreate) {
  FakeClient client(FakeClientOptions{});
  std::ostringstream log;
  TrainerOptions options = Options(0);
  absl::StatusOr<std::unique_ptr<Trainer>> t =
      Trainer::Create(options, &client, &log);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("--steps"));
}

TEST(TrainerTest, CudaMemoryWithoutAGpuFailsCreate) {
#ifdef INPUTSERVE_TRAINER_WITH_CUDA
  if (gpu::DeviceCount() > 0) GTEST_SKIP() << "a GPU is present";
#endif
  FakeClientOptions fake;
  fake.memory = MemoryKind::kCuda;
  FakeClient client(fake);
  RunResult r = Train(Options(1, 1), &client);
  EXPECT_EQ(r.summary.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TrainerTest, EndOfTheEpochsStopsEarlyWithoutAnError) {
  FakeClientOptions fake;
  fake.end_after = 7;
  FakeClient client(fake);
  RunResult r = Train(Options(20), &client);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.summary->steps, 7);
  EXPECT_THAT(r.log, HasSubstr("step 8: the client's epochs are over"));
  EXPECT_THAT(r.log, HasSubstr("stopping after 7 of 20 steps"));
  // The last partial window still gets its progress line.
  EXPECT_THAT(r.log, HasSubstr("step 7/20 ["));
  EXPECT_GT(r.summary->final_loss, 0);
}

TEST(TrainerTest, NoStepLeftIsAnEmptyRun) {
  FakeClientOptions fake;
  fake.end_after = -1;  // OUT_OF_RANGE from the first call.
  FakeClient client(fake);
  RunResult r = Train(Options(5), &client);
  ASSERT_TRUE(r.summary.ok()) << r.summary.status();
  EXPECT_EQ(r.summary->steps, 0);
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name, "_",
                      ::getpid());
}

TEST(TrainerTest, DigestFileHasALinePerStepWhateverTheDeviceSplit) {
  std::vector<std::vector<std::string>> runs;
  for (int num_gpus : {0, 2}) {
    FakeClientOptions fake;
    fake.batch_size = 4;
    fake.num_devices = num_gpus;
    fake.first_step = 18;
    FakeClient client(fake);
    TrainerOptions options = Options(3, num_gpus);
    options.digest_file = TempPath(absl::StrCat("digest", num_gpus));
    RunResult r = Train(options, &client);
    ASSERT_TRUE(r.summary.ok()) << r.summary.status();
    runs.push_back(ReadLines(options.digest_file));
    std::remove(options.digest_file.c_str());
  }
  ASSERT_EQ(runs[0].size(), 3u);
  // "<step> <epoch> <64 hex digits> <4 labels>"; steps and epochs of the
  // client's batches.
  const std::regex line(R"((\d+) (\d+) [0-9a-f]{64} [0-3](,[0-3]){3})");
  const char* expected_prefix[] = {"18 1 ", "19 1 ", "20 2 "};
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(std::regex_match(runs[0][i], line)) << runs[0][i];
    EXPECT_EQ(runs[0][i].rfind(expected_prefix[i], 0), 0u) << runs[0][i];
  }
  EXPECT_NE(runs[0][0], runs[0][1]);
  // The same batches split over two devices digest the same.
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(TrainerTest, UnwritableDigestFileFailsCreateNamingTheFlag) {
  FakeClient client(FakeClientOptions{});
  std::ostringstream log;
  TrainerOptions options = Options(1);
  options.digest_file = "/nonexistent-dir/digest.txt";
  absl::StatusOr<std::unique_ptr<Trainer>> t =
      Trainer::Create(options, &client, &log);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(),
              HasSubstr("--digest_file=/nonexistent-dir/digest.txt"));
}

TEST(FormatSummaryLineTest, IsTheSpecLine) {
  TrainSummary s;
  s.steps = 200;
  s.examples_per_sec = 12345.678;
  s.input_wait_pct = 3.14159;
  s.bytes_received = 987654321;
  s.final_mode = BatchMode::kSynthetic;
  EXPECT_EQ(FormatSummaryLine(s),
            "SUMMARY steps=200 examples_per_sec=12345.7 input_wait_pct=3.1 "
            "bytes_received=987654321 final_mode=synthetic");
  s.final_mode = BatchMode::kReal;
  EXPECT_THAT(FormatSummaryLine(s), HasSubstr("final_mode=real"));
}

}  // namespace
}  // namespace inputserve::trainer
