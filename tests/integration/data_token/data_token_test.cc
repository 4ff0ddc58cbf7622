// --data_token_file on a real inputserve-server: InputService calls without
// the token, or with a wrong one, get UNAUTHENTICATED and are counted in
// inputserve_data_auth_failures_total{rpc}; ClientOptions::data_token_file
// sends it on GetDatasetInfo, StreamBatches and WatchMode; health stays open
// for probes; a rotated token file takes over without a restart.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "inputserve/v1/input_service.grpc.pb.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "data-token-1";

class DataTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("data_token");
    WriteFileOrDie(dir_ + "/server_token", std::string(kToken) + "\n");
    WriteFileOrDie(dir_ + "/right", std::string(kToken) + "\n");
    WriteFileOrDie(dir_ + "/wrong", "not-the-token\n");
  }

  void StartServer(const std::string& token_file) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(
            {"--dataset=synthetic:cifar10", "--batch_size=8",
             "--admin_listen=", "--data_token_file=" + token_file});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  ClientOptions Options(const std::string& token_file) const {
    ClientOptions options;
    options.targets = {server_->data_target()};
    options.data_token_file = token_file;
    options.connect_timeout = absl::Seconds(10);
    return options;
  }

  double AuthFailures(const std::string& rpc) const {
    absl::StatusOr<std::string> text =
        HttpGet(server_->metrics_port(), "/metrics");
    EXPECT_TRUE(text.ok()) << text.status();
    if (!text.ok()) return -1;
    absl::StatusOr<double> value = MetricValue(
        *text, "inputserve_data_auth_failures_total{rpc=\"" + rpc + "\"}");
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : -1;
  }

  // Both streaming RPCs called directly with `authorization` (empty: none);
  // each is cancelled after its first message.
  std::vector<grpc::Status> RawStreams(const std::string& authorization) {
    auto stub = v1::InputService::NewStub(grpc::CreateChannel(
        server_->data_target(), grpc::InsecureChannelCredentials()));
    return {
        Call<v1::BatchChunk>(authorization,
                             [&](grpc::ClientContext* context) {
                               return stub->StreamBatches(
                                   context, v1::StreamBatchesRequest());
                             }),
        Call<v1::ModeStatus>(authorization, [&](grpc::ClientContext* context) {
          return stub->WatchMode(context, v1::WatchModeRequest());
        })};
  }

  template <typename Message, typename Start>
  static grpc::Status Call(const std::string& authorization, Start start) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (!authorization.empty()) {
      context.AddMetadata("authorization", authorization);
    }
    auto reader = start(&context);
    Message message;
    while (reader->Read(&message)) context.TryCancel();
    return reader->Finish();
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(DataTokenTest, NoTokenIsUnauthenticatedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(StartServer(dir_ + "/server_token"));
  EXPECT_EQ(AuthFailures("GetDatasetInfo"), 0);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(Options(""));
  EXPECT_THAT(client, StatusIs(absl::StatusCode::kUnauthenticated,
                               HasSubstr("missing 'authorization")));
  EXPECT_GE(AuthFailures("GetDatasetInfo"), 1);

  for (const grpc::Status& s : RawStreams("")) {
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  }
  EXPECT_EQ(AuthFailures("StreamBatches"), 1);
  EXPECT_EQ(AuthFailures("WatchMode"), 1);
}

TEST_F(DataTokenTest, WrongTokenIsUnauthenticatedAndNeverEchoed) {
  ASSERT_NO_FATAL_FAILURE(StartServer(dir_ + "/server_token"));
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Create(Options(dir_ + "/wrong"));
  EXPECT_THAT(client, StatusIs(absl::StatusCode::kUnauthenticated,
                               HasSubstr("invalid data token")));
  EXPECT_THAT(std::string(client.status().message()),
              ::testing::Not(HasSubstr("not-the-token")));
  for (const grpc::Status& s : RawStreams("Bearer not-the-token")) {
    EXPECT_THAT(
        s, StatusIs(absl::StatusCode::kUnauthenticated, "invalid data token"));
  }
  EXPECT_GE(AuthFailures("GetDatasetInfo"), 1);
  EXPECT_EQ(AuthFailures("StreamBatches"), 1);
  EXPECT_EQ(AuthFailures("WatchMode"), 1);
}

TEST_F(DataTokenTest, RightTokenStreamsBatchesAndHealthStaysOpen) {
  ASSERT_NO_FATAL_FAILURE(StartServer(dir_ + "/server_token"));
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Create(Options(dir_ + "/right"));
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ((*batch)->global_batch_size, 8);
  }
  client->reset();
  // Streams and mode watches with the token are accepted too (they end
  // CANCELLED because the test cancels them after the first message).
  for (const grpc::Status& s : RawStreams(std::string("Bearer ") + kToken)) {
    EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << s.error_message();
  }
  EXPECT_EQ(AuthFailures("GetDatasetInfo"), 0);
  EXPECT_EQ(AuthFailures("StreamBatches"), 0);
  EXPECT_EQ(AuthFailures("WatchMode"), 0);

  // Probes need no token: the health service is outside InputService.
  CommandResult health = RunCommand(
      {BinPath("inputserve-admin"), "--server=" + server_->data_target(),
       "--timeout=10s", "health"},
      absl::Seconds(20));
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_THAT(health.output, HasSubstr("SERVING"));
}

TEST_F(DataTokenTest, MissingClientTokenFileFailsCreate) {
  ASSERT_NO_FATAL_FAILURE(StartServer(dir_ + "/server_token"));
  EXPECT_THAT(Client::Create(Options(dir_ + "/absent")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("data token file")));
}

// The file is laid out like a Kubernetes Secret volume (token ->
// ..data/token, ..data -> a versioned directory) and swapped the way the
// kubelet does it; server and client mount the same Secret.
TEST_F(DataTokenTest, RotatedTokenTakesOverWithoutARestart) {
  const std::string secret = dir_ + "/secret";
  ASSERT_EQ(::mkdir(secret.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((secret + "/..v1").c_str(), 0700), 0);
  WriteFileOrDie(secret + "/..v1/token", std::string(kToken) + "\n");
  ASSERT_EQ(::symlink("..v1", (secret + "/..data").c_str()), 0);
  ASSERT_EQ(::symlink("..data/token", (secret + "/token").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(StartServer(secret + "/token"));
  ASSERT_TRUE(Client::Create(Options(secret + "/token")).ok());

  ASSERT_EQ(::mkdir((secret + "/..v2").c_str(), 0700), 0);
  WriteFileOrDie(secret + "/..v2/token", "data-token-2\n");
  const std::string tmp = secret + "/..data_tmp";
  ASSERT_EQ(::symlink("..v2", tmp.c_str()), 0);
  ASSERT_EQ(std::rename(tmp.c_str(), (secret + "/..data").c_str()), 0);

  // The server re-checks its file at most once a second; the client reads
  // its file on every call. Generous deadline for a loaded machine.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::Status last;
  do {
    last = Client::Create(Options(secret + "/token")).status();
    if (last.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_TRUE(last.ok()) << last;
  // The old token is refused from then on.
  EXPECT_THAT(Client::Create(Options(dir_ + "/right")),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("invalid data token")));
  EXPECT_THAT(server_->output(), HasSubstr("data token reloaded"));
  EXPECT_THAT(server_->output(), ::testing::Not(HasSubstr("data-token-2")));
}

}  // namespace
}  // namespace inputserve::testing
