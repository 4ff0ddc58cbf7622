// The client and inputserve-admin against a real inputserve-server: real
// batches split over host devices, the flip to synthetic through the admin
// CLI (cache, no more bytes), the flip back, TLS, and server shutdown.
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "integration-token";

class ClientServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("client_it");
    token_file_ = dir_ + "/token";
    WriteFileOrDie(token_file_, absl::StrCat(kToken, "\n"));
  }

  std::unique_ptr<ServerProcess> StartServer(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--dataset=synthetic:cifar10",
                                     "--batch_size=64", "--chunk_bytes=65536",
                                     "--admin_token_file=" + token_file_};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(args);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  ClientOptions Options(const ServerProcess& server) {
    ClientOptions o;
    o.targets = {server.data_target()};
    o.device_kind = DeviceKind::kHost;
    o.initial_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    o.unavailable_timeout = absl::Seconds(10);
    return o;
  }

  CommandResult Admin(const ServerProcess& server,
                      std::vector<std::string> args) {
    std::vector<std::string> argv = {BinPath("inputserve-admin"),
                                     "--server=" + server.admin_target(),
                                     "--token_file=" + token_file_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, absl::Seconds(30));
  }

  std::string dir_;
  std::string token_file_;
};

// The server's inputserve_active_streams; -1 when /metrics cannot say.
double ActiveStreams(const ServerProcess& server) {
  absl::StatusOr<std::string> text = HttpGet(server.metrics_port(), "/metrics");
  if (!text.ok()) return -1;
  return MetricValue(*text, "inputserve_active_streams").value_or(-1);
}

// Next() until a batch in `mode` arrives (bounded by time).
const Batch* NextInMode(Client& client, BatchMode mode) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    absl::StatusOr<const Batch*> batch = client.Next();
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok()) return nullptr;
    if ((*batch)->mode == mode) return *batch;
  }
  ADD_FAILURE() << "no batch in the wanted mode within 10s";
  return nullptr;
}

void ExpectCifarShapes(const Batch& batch, int per_device) {
  for (const DeviceBatch& device : batch.devices) {
    const TensorView* image = device.Find("image");
    const TensorView* label = device.Find("label");
    ASSERT_NE(image, nullptr);
    ASSERT_NE(label, nullptr);
    EXPECT_EQ(image->shape, (std::vector<int64_t>{per_device, 32, 32, 3}));
    EXPECT_EQ(label->shape, (std::vector<int64_t>{per_device}));
    for (int i = 0; i < per_device; ++i) {
      int32_t value;
      std::memcpy(&value, static_cast<const uint8_t*>(label->data) + 4 * i, 4);
      ASSERT_GE(value, 0);
      ASSERT_LT(value, 10);
    }
  }
}

TEST_F(ClientServerTest, RealSyntheticAndBackThroughTheAdminCli) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  ClientOptions o = Options(*server);
  o.num_devices = 2;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->batch_size(), 64);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ((*batch)->mode, BatchMode::kReal);
    ASSERT_EQ((*batch)->devices.size(), 2u);
    ExpectCifarShapes(**batch, 32);
  }

  CommandResult flip = Admin(*server, {"set-mode", "synthetic"});
  ASSERT_EQ(flip.exit_code, 0) << flip.output;
  EXPECT_THAT(flip.output, HasSubstr("mode: synthetic")) << flip.output;
  const Batch* cached = NextInMode(**client, BatchMode::kSynthetic);
  ASSERT_NE(cached, nullptr);
  EXPECT_TRUE(cached->from_cache);
  ExpectCifarShapes(*cached, 32);
  // Both devices got the same slice 0.
  EXPECT_EQ(std::memcmp(cached->devices[0].tensors[0].data,
                        cached->devices[1].tensors[0].data,
                        cached->devices[0].tensors[0].num_bytes),
            0);
  // Once the server has closed the cancelled data stream, nothing more can
  // arrive; then a short grace lets a stray stream show itself.
  const absl::Time closed_by = absl::Now() + absl::Seconds(10);
  while (ActiveStreams(*server) != 0 && absl::Now() < closed_by) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(ActiveStreams(*server), 0);
  const ClientStats before = (*client)->stats();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(*(*client)->Next(), cached);
  absl::SleepFor(absl::Milliseconds(200));
  const ClientStats after = (*client)->stats();
  EXPECT_EQ(after.bytes_received, before.bytes_received);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1000);

  CommandResult back = Admin(*server, {"set-mode", "real"});
  ASSERT_EQ(back.exit_code, 0) << back.output;
  // The client learns it on WatchMode; NextInMode's 10 s deadline only
  // absorbs a loaded machine (nothing polls).
  const Batch* real = NextInMode(**client, BatchMode::kReal);
  ASSERT_NE(real, nullptr);
  EXPECT_FALSE(real->from_cache);
  ExpectCifarShapes(*real, 32);
  EXPECT_GT((*client)->stats().bytes_received, after.bytes_received);
}

TEST_F(ClientServerTest, AdminStatusHealthAndAuth) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  CommandResult status = Admin(*server, {"status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("batch_size: 64")) << status.output;
  CommandResult json = Admin(*server, {"--json", "status"});
  EXPECT_EQ(json.exit_code, 0) << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"batchSize\": 64")) << json.output;

  CommandResult health =
      RunCommand({BinPath("inputserve-admin"),
                  "--server=" + server->data_target(), "health"});
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_THAT(health.output, HasSubstr("SERVING"));

  const std::string wrong = dir_ + "/wrong";
  WriteFileOrDie(wrong, "not-the-token\n");
  CommandResult denied = RunCommand(
      {BinPath("inputserve-admin"), "--server=" + server->admin_target(),
       "--token_file=" + wrong, "set-mode", "synthetic"});
  EXPECT_EQ(denied.exit_code, 1) << denied.output;
  EXPECT_THAT(denied.output, HasSubstr("UNAUTHENTICATED")) << denied.output;
}

TEST_F(ClientServerTest, IndivisibleBatchIsRejectedWithNeighbours) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  ClientOptions o = Options(*server);
  o.num_devices = 3;
  auto client = Client::Create(o);
  ASSERT_THAT(client.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("63 or 66")))
      << client.status();
}

TEST_F(ClientServerTest, ServerShutdownEndsInUnavailableNamingTheTarget) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  const std::string target = server->data_target();
  ClientOptions o = Options(*server);
  o.unavailable_timeout = absl::Seconds(1);
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Next().ok());
  EXPECT_EQ(server->StopWithSignal(SIGTERM), 0) << server->output();
  absl::Status error;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (error.ok() && absl::Now() < deadline) {
    error = (*client)->Next().status();
  }
  EXPECT_THAT(error,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(target)))
      << error;
}

TEST_F(ClientServerTest, TlsWithAGeneratedCertificate) {
  const std::string key = dir_ + "/server.key";
  const std::string cert = dir_ + "/server.pem";
  CommandResult openssl = RunCommand(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
       "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
       "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  if (openssl.exit_code != 0) GTEST_SKIP() << "openssl: " << openssl.output;
  auto server =
      StartServer({"--tls_cert_file=" + cert, "--tls_key_file=" + key});
  ASSERT_NE(server, nullptr);
  ClientOptions o = Options(*server);
  o.tls.enabled = true;
  o.tls.ca_file = cert;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<const Batch*> batch = (*client)->Next();
  ASSERT_TRUE(batch.ok()) << batch.status();
  ExpectCifarShapes(**batch, 64);

  // Without TLS the same server does not answer.
  ClientOptions plain = Options(*server);
  plain.connect_timeout = absl::Seconds(2);
  EXPECT_FALSE(Client::Create(plain).ok());
  // A CA file that is missing is named.
  o.tls.ca_file = dir_ + "/missing.pem";
  absl::Status missing = Client::Create(o).status();
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("missing.pem")));

  CommandResult status = RunCommand(
      {BinPath("inputserve-admin"), "--server=" + server->admin_target(),
       "--token_file=" + token_file_, "--tls_ca_file=" + cert, "status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
}

}  // namespace
}  // namespace inputserve::testing
