// inputserve-admin against an in-process AdminService + health service: the
// command functions, and the binary itself (exit status and output).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/tools/admin_commands.h"
#include "client/tools/health_probe.h"
#include "gmock/gmock.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "inputserve/v1/admin_service.grpc.pb.h"
#include "tests/testing/status_matchers.h"

namespace inputserve::admin {
namespace {

using ::inputserve::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kToken[] = "s3cret-token";

class FakeAdmin final : public v1::AdminService::Service {
 public:
  grpc::Status SetMode(grpc::ServerContext* context,
                       const v1::SetModeRequest* request,
                       v1::ModeStatus* reply) override {
    if (grpc::Status s = Check(context); !s.ok()) return s;
    if (request->mode() != v1::MODE_REAL &&
        request->mode() != v1::MODE_SYNTHETIC) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "mode");
    }
    if (request->mode() != mode_.mode()) {
      mode_.set_mode(request->mode());
      mode_.set_generation(mode_.generation() + 1);
      mode_.set_changed_unix_micros(1700000000000000);
    }
    *reply = mode_;
    return grpc::Status::OK;
  }
  grpc::Status GetStatus(grpc::ServerContext* context,
                         const v1::GetStatusRequest*,
                         v1::ServerStatus* reply) override {
    if (grpc::Status s = Check(context); !s.ok()) return s;
    *reply->mutable_mode() = mode_;
    reply->set_dataset("synthetic:cifar10");
    reply->set_batch_size(256);
    reply->set_batches_sent_real(12);
    reply->set_num_shards(1);
    return grpc::Status::OK;
  }

 private:
  grpc::Status Check(grpc::ServerContext* context) {
    auto it = context->client_metadata().find("authorization");
    if (it == context->client_metadata().end() ||
        std::string(it->second.data(), it->second.size()) !=
            absl::StrCat("Bearer ", kToken)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "missing or wrong admin token");
    }
    return grpc::Status::OK;
  }
  v1::ModeStatus mode_ = [] {
    v1::ModeStatus m;
    m.set_mode(v1::MODE_REAL);
    m.set_generation(1);
    return m;
  }();
};

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    options_.server = absl::StrCat("127.0.0.1:", port_);
    options_.token = kToken;
    options_.timeout = absl::Seconds(5);
  }
  void TearDown() override { server_->Shutdown(); }

  FakeAdmin service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  AdminOptions options_;
};

TEST_F(AdminTest, SetModeFlipsAndPrintsTheModeStatus) {
  absl::StatusOr<std::string> out =
      RunAdminCommand(options_, {"set-mode", "synthetic"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(*out, HasSubstr("mode: synthetic")) << *out;
  EXPECT_THAT(*out, HasSubstr("generation: 2")) << *out;
  EXPECT_THAT(*out, HasSubstr("2023-11-14T22:13:20")) << *out;
  options_.json = true;
  out = RunAdminCommand(options_, {"set-mode", "real"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(*out, HasSubstr("\"mode\": \"MODE_REAL\"")) << *out;
  EXPECT_THAT(*out, HasSubstr("\"generation\": \"3\"")) << *out;
}

TEST_F(AdminTest, StatusPrintsTheServerStatus) {
  absl::StatusOr<std::string> out = RunAdminCommand(options_, {"status"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(*out, HasSubstr("dataset: synthetic:cifar10"));
  EXPECT_THAT(*out, HasSubstr("batch_size: 256"));
  EXPECT_THAT(*out, HasSubstr("batches_sent: real=12 synthetic=0")) << *out;
}

TEST_F(AdminTest, WrongTokenIsUnauthenticated) {
  options_.token = "wrong";
  EXPECT_EQ(RunAdminCommand(options_, {"status"}).status().code(),
            absl::StatusCode::kUnauthenticated);
  options_.token.clear();
  EXPECT_EQ(RunAdminCommand(options_, {"set-mode", "real"}).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AdminTest, BadCommandsAreInvalidArguments) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"flip"},
                                             {"set-mode"},
                                             {"set-mode", "fake"},
                                             {"status", "extra"}}) {
    absl::StatusOr<std::string> out = RunAdminCommand(options_, args);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument)
        << args.size();
  }
}

TEST_F(AdminTest, HealthReportsServingAndNotServing) {
  absl::StatusOr<std::string> out = RunAdminCommand(options_, {"health"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "SERVING\n");
  server_->GetHealthCheckService()->SetServingStatus(false);
  out = RunAdminCommand(options_, {"health"});
  EXPECT_THAT(out.status(), StatusIs(absl::StatusCode::kUnavailable,
                                     HasSubstr("NOT_SERVING")));
  options_.health_service = "no.such.Service";
  EXPECT_EQ(RunAdminCommand(options_, {"health"}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AdminTest, UnreachableServerIsUnavailable) {
  options_.server = "127.0.0.1:1";
  options_.timeout = absl::Minutes(2);
  const absl::Time start = absl::Now();
  absl::Status s = RunAdminCommand(options_, {"status"}).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable,
                          HasSubstr("still unreachable after retrying")))
      << s;
  // Reported after the reconnect window, not at the end of --timeout.
  EXPECT_LT(absl::Now() - start, absl::Minutes(1));
}

// One failed connection is not the last word: a server that starts while
// the command runs is found (a HEALTHCHECK against a restarting server; and
// the spurious connect failures of gRPC 1.51, see unary_retry.h).
TEST_F(AdminTest, ServerThatStartsDuringTheCommandIsFound) {
  server_->Shutdown();
  server_.reset();
  std::thread late([this] {
    absl::SleepFor(absl::Milliseconds(300));
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.server, grpc::InsecureServerCredentials());
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  });
  absl::StatusOr<std::string> status = RunAdminCommand(options_, {"status"});
  late.join();
  ASSERT_NE(server_, nullptr) << "could not listen on " << options_.server;
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_THAT(*status, HasSubstr("batch_size: 256")) << *status;
}

TEST(HealthProbeTest, EncodesAndDecodes) {
  EXPECT_EQ(EncodeHealthCheckRequest(""), "");
  EXPECT_EQ(EncodeHealthCheckRequest("ab"), std::string("\x0a\x02"
                                                        "ab"));
  EXPECT_EQ(EncodeHealthCheckRequest(std::string(200, 'x')).substr(0, 3),
            std::string("\x0a\xc8\x01"));
  EXPECT_EQ(*DecodeHealthCheckResponse(std::string("\x08\x01")),
            ServingStatus::kServing);
  EXPECT_EQ(*DecodeHealthCheckResponse(""), ServingStatus::kUnknown);
  EXPECT_EQ(*DecodeHealthCheckResponse(std::string("\x12\x01z\x08\x02")),
            ServingStatus::kNotServing);
  EXPECT_FALSE(DecodeHealthCheckResponse(std::string("\x08")).ok());
  EXPECT_FALSE(DecodeHealthCheckResponse(std::string("\x08\x09")).ok());
  EXPECT_FALSE(DecodeHealthCheckResponse(std::string("\x12\x05z")).ok());
}

TEST(TokenFileTest, FirstLineTrimmed) {
  const std::string path = ::testing::TempDir() + "/token";
  std::ofstream(path) << "  tok-en \t\nsecond line\n";
  EXPECT_EQ(*ReadTokenFile(path), "tok-en");
  std::ofstream(path) << "\n\nlater";
  EXPECT_EQ(ReadTokenFile(path).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status missing = ReadTokenFile(path + ".missing").status();
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("token.missing")));
}

// Runs the real binary; returns {exit code, stdout+stderr}.
std::pair<int, std::string> RunAdmin(const std::string& flags) {
  const std::string command =
      absl::StrCat(INPUTSERVE_ADMIN_BIN, " ", flags, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    output.append(buffer.data(), n);
  }
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST_F(AdminTest, BinaryExitStatusAndMessages) {
  const std::string token_path = ::testing::TempDir() + "/admin_token";
  std::ofstream(token_path) << kToken << "\n";
  const std::string server = "--server=" + options_.server;

  auto [code, out] =
      RunAdmin(server + " --token_file=" + token_path + " set-mode synthetic");
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("mode: synthetic")) << out;

  std::tie(code, out) = RunAdmin(server + " status");  // No token.
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("UNAUTHENTICATED: missing or wrong admin token"))
      << out;

  std::tie(code, out) = RunAdmin(server + " health");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "SERVING\n");

  std::tie(code, out) = RunAdmin(server + " --token_file=/nonexistent status");
  EXPECT_EQ(code, 1);
  EXPECT_THAT(out, HasSubstr("INVALID_ARGUMENT: cannot read token file"))
      << out;

  std::tie(code, out) = RunAdmin("--server=127.0.0.1:1 --timeout=2s health");
  EXPECT_EQ(code, 1);
  EXPECT_THAT(out, HasSubstr("UNAVAILABLE")) << out;

  std::tie(code, out) = RunAdmin(server + " --tls_ca_file=/nonexistent health");
  EXPECT_EQ(code, 1);
  EXPECT_THAT(out, HasSubstr("tls.ca_file")) << out;
}

}  // namespace
}  // namespace inputserve::admin
