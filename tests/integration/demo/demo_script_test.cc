// deploy/demo.sh, the README's first command, run as a short variant that
// reuses this build and skips apt: it must finish, print both rates, show the
// flip in /metrics and leave no server behind.
#include <signal.h>

#include <cerrno>
#include <regex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace inputserve {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using testing::RunCommand;

// Runs the demo with `env` added; its work directory goes under a fresh
// TMPDIR so a failed run's kept logs stay out of /tmp.
CommandResult RunDemo(std::vector<std::string> env) {
  std::vector<std::string> argv = {
      "/usr/bin/env", "DEMO_SKIP_INSTALL=1", "DEMO_SKIP_BUILD=1",
      "DEMO_BUILD_DIR=" INPUTSERVE_BUILD_DIR,
      "TMPDIR=" + testing::MakeTempDir("demo_script")};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back("bash");
  argv.push_back(INPUTSERVE_SOURCE_DIR "/deploy/demo.sh");
  return RunCommand(argv, absl::Seconds(240));
}

// "<mode> mode: <rate> examples/s, <bytes> bytes received".
struct ModeLine {
  double rate = -1;
  double bytes = -1;
};
ModeLine FindModeLine(const std::string& output, const std::string& mode) {
  const std::regex re("\n" + mode +
                      R"( mode: ([\d.]+) examples/s, (\d+) bytes received)");
  std::smatch m;
  ModeLine line;
  if (std::regex_search(output, m, re)) {
    line.rate = std::stod(m[1]);
    line.bytes = std::stod(m[2]);
  }
  return line;
}

TEST(DemoScriptTest, ShortRunFinishesAndPrintsBothRates) {
  CommandResult r = RunDemo({"DEMO_STEPS=30", "DEMO_BATCH_SIZE=64",
                             "DEMO_NUM_EXAMPLES=2000", "DEMO_NUM_GPUS=2"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const ModeLine real = FindModeLine(r.output, "real");
  const ModeLine synthetic = FindModeLine(r.output, "synthetic");
  EXPECT_GT(real.rate, 0) << r.output;
  EXPECT_GT(synthetic.rate, 0) << r.output;
  // 30 real batches of 64 x (3072 + 4) bytes vs about one synthetic batch.
  EXPECT_GE(real.bytes, 30.0 * 64 * 3076) << r.output;
  EXPECT_LT(synthetic.bytes, real.bytes / 5) << r.output;
  EXPECT_THAT(r.output, HasSubstr("final_mode=real"));
  EXPECT_THAT(r.output, HasSubstr("final_mode=synthetic"));
  EXPECT_THAT(r.output, HasSubstr("/metrics: inputserve_mode 1"));
  EXPECT_THAT(r.output,
              HasSubstr("inputserve_bytes_sent_total{mode=\"real\"}"));
  EXPECT_THAT(r.output, HasSubstr("server exited cleanly"));
  EXPECT_THAT(r.output, HasSubstr("DEMO OK"));

  // The server the demo started is gone.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(server pid (\d+))")))
      << r.output;
  const pid_t pid = std::stoi(m[1]);
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(DemoScriptTest, ServerStartFailureIsReportedAndCleanedUp) {
  CommandResult r =
      RunDemo({"DEMO_STEPS=5", "DEMO_DATASET=cifar10:/nonexistent/dir"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("inputserve-server exited during start-up"));
  EXPECT_THAT(r.output, HasSubstr("demo.sh: FAILED"));
  // The server never started, so nothing is left to stop; the logs are kept.
  EXPECT_THAT(r.output, HasSubstr("demo.sh: logs kept in"));
}

TEST(DemoScriptTest, BadSettingsAreNamed) {
  CommandResult steps = RunDemo({"DEMO_STEPS=0"});
  EXPECT_NE(steps.exit_code, 0);
  EXPECT_THAT(steps.output, HasSubstr("DEMO_STEPS must be > 0"));
  CommandResult batch = RunDemo({"DEMO_BATCH_SIZE=abc"});
  EXPECT_NE(batch.exit_code, 0);
  EXPECT_THAT(batch.output,
              HasSubstr("DEMO_BATCH_SIZE must be a whole number, got 'abc'"));
}

TEST(DemoScriptTest, MissingBinariesAreNamed) {
  const std::string empty = testing::MakeTempDir("demo_no_build");
  CommandResult r =
      RunCommand({"/usr/bin/env", "DEMO_SKIP_INSTALL=1", "DEMO_SKIP_BUILD=1",
                  "DEMO_BUILD_DIR=" + empty, "bash",
                  INPUTSERVE_SOURCE_DIR "/deploy/demo.sh"},
                 absl::Seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("is missing: build the project first"));
}

}  // namespace
}  // namespace inputserve
