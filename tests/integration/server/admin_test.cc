// AdminService: authentication, validation, status and its metrics.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/server/raw_client.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "adm1n-T0ken";

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = MakeTempDir("admin");
    WriteFileOrDie(dir + "/token", absl::StrCat("  ", kToken, "  \n"));
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start({"--dataset=synthetic:cifar10", "--batch_size=8",
                              "--admin_token_file=" + dir + "/token"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  double Metric(const std::string& sample) {
    absl::StatusOr<std::string> text =
        HttpGet(server_->metrics_port(), "/metrics");
    return MetricValue(text.value_or(""), sample).value_or(-1);
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(AdminTest, MissingOrWrongTokenIsUnauthenticated) {
  grpc::Status none = SetMode(server_->admin_target(), "", v1::MODE_SYNTHETIC);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status wrong =
      SetMode(server_->admin_target(), "adm1n-T0keN", v1::MODE_SYNTHETIC);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(wrong.error_message(), Not(HasSubstr(kToken)));
  v1::ServerStatus status;
  EXPECT_EQ(GetStatus(server_->admin_target(), "nope", &status).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Nothing changed.
  EXPECT_EQ(Metric("inputserve_mode"), 0);
  EXPECT_EQ(Metric("inputserve_admin_requests_total{code=\"UNAUTHENTICATED\","
                   "rpc=\"SetMode\"}"),
            2);
  // The token never reaches the log.
  EXPECT_THAT(server_->output(), Not(HasSubstr(kToken)));
}

TEST_F(AdminTest, RightTokenFlipsTheModeAndMetricsFollow) {
  v1::ModeStatus mode;
  ASSERT_TRUE(
      SetMode(server_->admin_target(), kToken, v1::MODE_SYNTHETIC, &mode).ok());
  EXPECT_EQ(mode.mode(), v1::MODE_SYNTHETIC);
  EXPECT_EQ(mode.generation(), 2u);
  EXPECT_EQ(Metric("inputserve_mode"), 1);
  EXPECT_EQ(Metric("inputserve_mode_changes_total"), 1);
  // Setting the same mode again is not a change.
  ASSERT_TRUE(
      SetMode(server_->admin_target(), kToken, v1::MODE_SYNTHETIC, &mode).ok());
  EXPECT_EQ(mode.generation(), 2u);
  ASSERT_TRUE(
      SetMode(server_->admin_target(), kToken, v1::MODE_REAL, &mode).ok());
  EXPECT_EQ(mode.generation(), 3u);
  EXPECT_EQ(Metric("inputserve_mode"), 0);
  EXPECT_EQ(Metric("inputserve_mode_changes_total"), 2);
  EXPECT_EQ(
      Metric("inputserve_admin_requests_total{code=\"OK\",rpc=\"SetMode\"}"), 3);
}

TEST_F(AdminTest, UnspecifiedOrUnknownModeIsInvalidArgument) {
  for (int bad : {0, 3, -1, 1000}) {
    grpc::Status s = SetMode(server_->admin_target(), kToken,
                             static_cast<v1::Mode>(bad));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(s.error_message(), HasSubstr("mode: must be MODE_REAL (1) or "
                                             "MODE_SYNTHETIC (2)"))
        << s.error_message();
  }
  EXPECT_EQ(Metric("inputserve_mode_changes_total"), 0);
}

TEST_F(AdminTest, StatusReportsModeStreamsAndDataset) {
  v1::ServerStatus status;
  ASSERT_TRUE(GetStatus(server_->admin_target(), kToken, &status).ok());
  EXPECT_EQ(status.mode().mode(), v1::MODE_REAL);
  EXPECT_EQ(status.dataset(), "synthetic:cifar10");
  EXPECT_EQ(status.batch_size(), 8u);
  EXPECT_EQ(status.num_shards(), 1u);
  EXPECT_EQ(status.active_streams(), 0u);
  EXPECT_GT(status.uptime_seconds(), 0);
}

TEST_F(AdminTest, AdminServiceIsNotOnTheDataPort) {
  grpc::Status s = SetMode(server_->data_target(), kToken, v1::MODE_SYNTHETIC);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(AdminTest, AdminCliSetsModeAndReportsErrors) {
  const std::string dir = MakeTempDir("admincli");
  WriteFileOrDie(dir + "/good", absl::StrCat(kToken, "\n"));
  WriteFileOrDie(dir + "/bad", "wrong\n");
  CommandResult ok = RunCommand({BinPath("inputserve-admin"),
                                 "--server=" + server_->admin_target(),
                                 "--token_file=" + dir + "/good", "set-mode",
                                 "synthetic"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(Metric("inputserve_mode"), 1);
  CommandResult bad = RunCommand({BinPath("inputserve-admin"),
                                  "--server=" + server_->admin_target(),
                                  "--token_file=" + dir + "/bad", "status"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.output, HasSubstr("UNAUTHENTICATED")) << bad.output;
  CommandResult health =
      RunCommand({BinPath("inputserve-admin"),
                  "--server=" + server_->data_target(), "health"});
  EXPECT_EQ(health.exit_code, 0) << health.output;
}

}  // namespace
}  // namespace inputserve::testing
