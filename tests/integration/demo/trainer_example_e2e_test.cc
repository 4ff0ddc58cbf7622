// trainer_example as a user runs it: against a real inputserve-server on
// loopback serving datagen's class-structured CIFAR-10 files.
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace inputserve {
namespace {

using testing::BinPath;
using testing::CommandResult;
using ::testing::HasSubstr;
using testing::RunCommand;
using testing::ServerProcess;

struct Summary {
  int steps = 0;
  double examples_per_sec = 0;
  double input_wait_pct = 0;
  uint64_t bytes_received = 0;
  std::string final_mode;
};

// Parses the last SUMMARY line; fails the test when there is none.
Summary ParseSummary(const std::string& output) {
  const std::regex re(
      R"(SUMMARY steps=(\d+) examples_per_sec=([\d.]+) input_wait_pct=([\d.]+) )"
      R"(bytes_received=(\d+) final_mode=(real|synthetic))");
  Summary s;
  bool found = false;
  for (std::sregex_iterator it(output.begin(), output.end(), re), end;
       it != end; ++it) {
    s = Summary{std::stoi((*it)[1]), std::stod((*it)[2]), std::stod((*it)[3]),
                std::stoull((*it)[4]), (*it)[5]};
    found = true;
  }
  EXPECT_TRUE(found) << "no SUMMARY line in:\n" << output;
  return s;
}

// The loss of every progress line, in order.
std::vector<double> Losses(const std::string& output) {
  const std::regex re(R"(- loss: ([\d.]+) -)");
  std::vector<double> losses;
  for (std::sregex_iterator it(output.begin(), output.end(), re), end;
       it != end; ++it) {
    losses.push_back(std::stod((*it)[1]));
  }
  return losses;
}

std::string LastLine(const std::string& output) {
  std::string last;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) last = line;
  }
  return last;
}

class TrainerExampleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_dir_ = new std::string(testing::MakeTempDir("trainer_e2e_data"));
    CommandResult gen =
        RunCommand({BinPath("inputserve-datagen"), "--format=cifar10",
                    "--out=" + *data_dir_, "--num_examples=2048", "--seed=3"});
    ASSERT_EQ(gen.exit_code, 0) << gen.output;
  }

  void SetUp() override {
    dir_ = testing::MakeTempDir("trainer_e2e");
    testing::WriteFileOrDie(dir_ + "/token", "test-token\n");
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start({"--dataset=cifar10:" + *data_dir_,
                              "--batch_size=64", "--shuffle_buffer=512",
                              "--admin_token_file=" + dir_ + "/token"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  CommandResult Trainer(std::vector<std::string> flags) {
    flags.insert(flags.begin(), BinPath("trainer_example"));
    return RunCommand(flags, absl::Seconds(120));
  }

  static std::string* data_dir_;
  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
};

std::string* TrainerExampleTest::data_dir_ = nullptr;

TEST_F(TrainerExampleTest, LearnsOnTwoHostDevicesAndReportsTheRun) {
  CommandResult r = Trainer({"--servers=" + server_->data_target(),
                             "--steps=80", "--num_gpus=2", "--log_every=10"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Summary s = ParseSummary(r.output);
  EXPECT_EQ(s.steps, 80);
  EXPECT_GT(s.examples_per_sec, 0);
  EXPECT_GE(s.input_wait_pct, 0);
  EXPECT_LE(s.input_wait_pct, 100);
  EXPECT_EQ(s.final_mode, "real");
  // Every step's batch crossed the wire: 64 x (32*32*3 image + int32 label).
  EXPECT_GE(s.bytes_received, 80u * 64 * (3072 + 4));
  EXPECT_THAT(r.output, HasSubstr("over 2 devices, host memory"));
  const std::vector<double> losses = Losses(r.output);
  ASSERT_EQ(losses.size(), 8u) << r.output;
  EXPECT_LT(losses.back(), 0.8 * losses.front()) << r.output;
  EXPECT_EQ(LastLine(r.output).rfind("SUMMARY ", 0), 0u) << r.output;
}

TEST_F(TrainerExampleTest, IndivisibleBatchFailsWithTheClientsMessage) {
  CommandResult r = Trainer(
      {"--servers=" + server_->data_target(), "--steps=5", "--num_gpus=3"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output,
              HasSubstr("trainer_example: error: creating the client"));
  EXPECT_THAT(r.output, HasSubstr("64"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("SUMMARY")));
}

TEST_F(TrainerExampleTest, RunningTrainerSeesTheFlipToSynthetic) {
  // Start a long run, flip the server once the trainer has logged step 10,
  // and let it finish: the rest of the run comes from the client's cache.
  const std::string script = R"(
    "$1" --servers="$2" --steps=1000 --log_every=10 >"$4/trainer.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 400); do
      grep -q '^step 10/' "$4/trainer.log" && break
      sleep 0.05
    done
    "$3" --server="$5" --token_file="$4/token" set-mode synthetic || exit 90
    wait "$pid"; rc=$?
    cat "$4/trainer.log"
    exit "$rc")";
  CommandResult r =
      RunCommand({"/bin/bash", "-c", script, "flip", BinPath("trainer_example"),
                  server_->data_target(), BinPath("inputserve-admin"), dir_,
                  server_->admin_target()},
                 absl::Seconds(150));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Summary s = ParseSummary(r.output);
  EXPECT_EQ(s.final_mode, "synthetic");
  EXPECT_THAT(r.output, HasSubstr("input mode changed real -> synthetic"));
  EXPECT_THAT(r.output, HasSubstr("- mode: synthetic"));
  // Far fewer than the run's 1000 batches of 64 x 3076 bytes crossed the wire.
  EXPECT_LT(s.bytes_received, 400u * 64 * 3076) << r.output;
}

TEST(TrainerExampleFlagsTest, BadFlagsAreNamed) {
  struct Case {
    std::vector<std::string> flags;
    const char* message;
  };
  const Case cases[] = {
      {{"--servers=127.0.0.1:1", "--steps=0"}, "--steps must be > 0, got 0"},
      {{"--servers=127.0.0.1:1", "--num_gpus=-2"}, "--num_gpus must be >= 0"},
      {{"--servers=", "--steps=3"}, "--servers is empty"},
      {{"--servers=127.0.0.1", "--steps=3"}, "has no port"},
      {{"--servers=127.0.0.1:1", "--learning_rate=-1"}, "--learning_rate"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {BinPath("trainer_example")};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    CommandResult r = RunCommand(argv, absl::Seconds(30));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message));
  }
}

TEST(TrainerExampleFlagsTest, NoServerFailsWithAClearMessage) {
  // A port nobody listens on: bind-free way to get one is port 1 (reserved).
  CommandResult r = RunCommand(
      {BinPath("trainer_example"), "--servers=127.0.0.1:1", "--steps=3"},
      absl::Seconds(90));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("trainer_example: error:"));
  EXPECT_THAT(r.output, HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("SUMMARY")));
}

}  // namespace
}  // namespace inputserve
