// TLS on the data and admin ports of a real inputserve-server, with
// certificates made by openssl at test time: TLS works for the client library
// and inputserve-admin (set-mode, status, health), plaintext to a TLS port
// fails, mutual TLS refuses clients without a certificate or with one from
// another CA, and a client that does not trust the server's CA fails with an
// error that says so.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "inputserve/v1/input_service.grpc.pb.h"
#include "tests/integration/tls/test_pki.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

constexpr char kToken[] = "tls-test-token";

// True when an error message says the TLS handshake or certificate check
// failed, rather than only that the connection did.
bool NamesTheTlsFailure(absl::string_view message) {
  const std::string lower = absl::AsciiStrToLower(message);
  return absl::StrContains(lower, "handshake") ||
         absl::StrContains(lower, "certificate");
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<TestPki> pki = MakeTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new TestPki(*std::move(pki));
    WriteFileOrDie(pki_->dir + "/token", absl::StrCat(kToken, "\n"));
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(pki_, nullptr); }

  // A server with TLS on both gRPC ports; `mtls` adds client verification.
  std::unique_ptr<ServerProcess> StartServer(bool mtls) {
    std::vector<std::string> args = {
        "--dataset=synthetic:cifar10", "--batch_size=32",
        "--admin_token_file=" + pki_->dir + "/token",
        "--tls_cert_file=" + pki_->server_cert,
        "--tls_key_file=" + pki_->server_key};
    if (mtls) args.push_back("--tls_client_ca_file=" + pki_->ca_cert);
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(args);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  static ClientOptions Options(const ServerProcess& server, TlsOptions tls) {
    ClientOptions o;
    o.targets = {server.data_target()};
    o.device_kind = DeviceKind::kHost;
    o.tls = std::move(tls);
    o.connect_timeout = absl::Seconds(3);
    o.unavailable_timeout = absl::Seconds(3);
    o.initial_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    return o;
  }

  static TlsOptions Tls(const std::string& ca, const std::string& cert = "",
                        const std::string& key = "") {
    TlsOptions tls;
    tls.enabled = true;
    tls.ca_file = ca;
    tls.cert_file = cert;
    tls.key_file = key;
    return tls;
  }

  // Pulls `n` batches over a fresh client; the first failure is returned.
  static absl::Status PullBatches(const ClientOptions& options, int n) {
    INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<Client> client,
                                Client::Create(options));
    for (int i = 0; i < n; ++i) {
      INPUTSERVE_ASSIGN_OR_RETURN(const Batch* batch, client->Next());
      if (batch->global_batch_size != 32) {
        return absl::InternalError(
            absl::StrCat("batch_size ", batch->global_batch_size));
      }
    }
    return absl::OkStatus();
  }

  // inputserve-admin against `target` with the token and `flags`.
  static CommandResult Admin(const std::string& target,
                             std::vector<std::string> flags) {
    std::vector<std::string> argv = {
        BinPath("inputserve-admin"), "--server=" + target,
        "--token_file=" + pki_->dir + "/token", "--timeout=5s"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return RunCommand(argv, absl::Seconds(30));
  }

  static TestPki* pki_;
};

TestPki* TlsTest::pki_ = nullptr;

TEST_F(TlsTest, DataAndAdminPortsWorkOverTls) {
  auto server = StartServer(/*mtls=*/false);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(PullBatches(Options(*server, Tls(pki_->ca_cert)), 3).ok());

  const std::string ca = "--tls_ca_file=" + pki_->ca_cert;
  CommandResult flip =
      Admin(server->admin_target(), {ca, "set-mode", "synthetic"});
  ASSERT_EQ(flip.exit_code, 0) << flip.output;
  CommandResult status =
      Admin(server->admin_target(), {ca, "--json", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_TRUE(absl::StrContains(status.output, "SYNTHETIC") ||
              absl::StrContains(status.output, "synthetic"))
      << status.output;
  EXPECT_EQ(Admin(server->admin_target(), {ca, "set-mode", "real"}).exit_code,
            0);

  // Health over TLS on both ports.
  for (const std::string& target :
       {server->data_target(), server->admin_target()}) {
    CommandResult health = Admin(target, {ca, "health"});
    EXPECT_EQ(health.exit_code, 0) << target << ": " << health.output;
    EXPECT_EQ(health.output, "SERVING\n") << target;
  }
  // The name in the certificate works as well as the address.
  ClientOptions by_name = Options(*server, Tls(pki_->ca_cert));
  by_name.targets = {absl::StrCat("localhost:", server->data_port())};
  EXPECT_TRUE(PullBatches(by_name, 1).ok());
}

TEST_F(TlsTest, PlaintextToATlsPortFails) {
  auto server = StartServer(/*mtls=*/false);
  ASSERT_NE(server, nullptr);

  // A plain generated stub with insecure credentials.
  auto channel = grpc::CreateChannel(server->data_target(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::InputService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(3));
  v1::DatasetInfo info;
  grpc::Status raw =
      stub->GetDatasetInfo(&context, v1::GetDatasetInfoRequest(), &info);
  EXPECT_FALSE(raw.ok());
  EXPECT_EQ(raw.error_code(), grpc::StatusCode::UNAVAILABLE)
      << raw.error_message();

  // The client library without TLS.
  absl::Status plain = PullBatches(Options(*server, TlsOptions()), 1);
  EXPECT_FALSE(plain.ok());

  // inputserve-admin without --tls, on each port and each command.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"status"},
                                             {"set-mode", "synthetic"}}) {
    CommandResult r = Admin(server->admin_target(), args);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, "UNAVAILABLE")) << r.output;
  }
  CommandResult health = Admin(server->data_target(), {"health"});
  EXPECT_EQ(health.exit_code, 1) << health.output;
  // Nothing changed the mode.
  CommandResult status =
      Admin(server->admin_target(),
            {"--tls_ca_file=" + pki_->ca_cert, "--json", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_FALSE(absl::StrContains(status.output, "SYNTHETIC")) << status.output;
}

TEST_F(TlsTest, MutualTlsAdmitsOnlyClientsWithACertificateFromItsCa) {
  auto server = StartServer(/*mtls=*/true);
  ASSERT_NE(server, nullptr);
  const TlsOptions no_cert = Tls(pki_->ca_cert);
  const TlsOptions other_ca_cert =
      Tls(pki_->ca_cert, pki_->other_client_cert, pki_->other_client_key);
  const TlsOptions right_cert =
      Tls(pki_->ca_cert, pki_->client_cert, pki_->client_key);

  EXPECT_FALSE(PullBatches(Options(*server, no_cert), 1).ok());
  EXPECT_FALSE(PullBatches(Options(*server, other_ca_cert), 1).ok());
  absl::Status ok = PullBatches(Options(*server, right_cert), 3);
  EXPECT_TRUE(ok.ok()) << ok;

  const std::string ca = "--tls_ca_file=" + pki_->ca_cert;
  const std::vector<std::string> other = {
      ca, "--tls_cert_file=" + pki_->other_client_cert,
      "--tls_key_file=" + pki_->other_client_key};
  const std::vector<std::string> right = {
      ca, "--tls_cert_file=" + pki_->client_cert,
      "--tls_key_file=" + pki_->client_key};
  for (const char* command : {"status", "health"}) {
    CommandResult none = Admin(server->admin_target(), {ca, command});
    EXPECT_EQ(none.exit_code, 1) << command << ": " << none.output;
    std::vector<std::string> args = other;
    args.push_back(command);
    CommandResult wrong = Admin(server->admin_target(), args);
    EXPECT_EQ(wrong.exit_code, 1) << command << ": " << wrong.output;
    args = right;
    args.push_back(command);
    CommandResult good = Admin(server->admin_target(), args);
    EXPECT_EQ(good.exit_code, 0) << command << ": " << good.output;
  }
  std::vector<std::string> flip = right;
  flip.insert(flip.end(), {"set-mode", "synthetic"});
  CommandResult flipped = Admin(server->admin_target(), flip);
  EXPECT_EQ(flipped.exit_code, 0) << flipped.output;
  // Health on the data port under mTLS, with the client certificate.
  std::vector<std::string> health = right;
  health.push_back("health");
  CommandResult data_health = Admin(server->data_target(), health);
  EXPECT_EQ(data_health.exit_code, 0) << data_health.output;
}

TEST_F(TlsTest, AClientThatDoesNotTrustTheServerFailsClearly) {
  auto server = StartServer(/*mtls=*/false);
  ASSERT_NE(server, nullptr);
  absl::Status wrong_ca =
      PullBatches(Options(*server, Tls(pki_->other_ca_cert)), 1);
  ASSERT_FALSE(wrong_ca.ok());
  EXPECT_EQ(wrong_ca.code(), absl::StatusCode::kUnavailable) << wrong_ca;
  // gRPC reports the handshake failure; the message must point at the
  // certificate, not just "connection failed".
  EXPECT_TRUE(NamesTheTlsFailure(wrong_ca.message())) << wrong_ca;

  CommandResult admin =
      Admin(server->admin_target(),
            {"--tls_ca_file=" + pki_->other_ca_cert, "status"});
  EXPECT_EQ(admin.exit_code, 1) << admin.output;
  EXPECT_TRUE(NamesTheTlsFailure(admin.output)) << admin.output;
}

}  // namespace
}  // namespace inputserve::testing
