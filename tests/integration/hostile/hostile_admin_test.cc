// Hostile admin calls: every way to get the bearer token wrong, invalid mode
// values, garbage request bytes. Each case has its exact code; no bad call
// changes the mode, and a good admin call works after the table.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inputserve/v1/admin_service.pb.h"
#include "tests/integration/hostile/hostile_calls.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "hostile-admin-token";
constexpr char kSetMode[] = "/inputserve.v1.AdminService/SetMode";
constexpr char kGetStatus[] = "/inputserve.v1.AdminService/GetStatus";

std::string SetModeRequest(int mode) {
  v1::SetModeRequest r;
  r.set_mode(static_cast<v1::Mode>(mode));
  return r.SerializeAsString();
}

Metadata Auth(const std::string& value) { return {{"authorization", value}}; }

struct AdminCase {
  const char* name;
  std::string method;
  std::string request;
  Metadata metadata;
  grpc::StatusCode code;
  std::string message;
  // Over the header size limit the server rejects the stream and may close
  // the connection at once; the client then sees UNAVAILABLE instead.
  grpc::StatusCode or_code = grpc::StatusCode::OK;
};

std::vector<AdminCase> Cases() {
  const std::string token = kToken;
  const std::string status_request;  // GetStatusRequest{}: empty.
  const auto unauth = grpc::StatusCode::UNAUTHENTICATED;
  const auto invalid = grpc::StatusCode::INVALID_ARGUMENT;
  return {
      {"no_token",
       kGetStatus,
       status_request,
       {},
       unauth,
       "missing 'authorization: Bearer <token>' metadata"},
      {"wrong_token", kGetStatus, status_request, Auth("Bearer nope"), unauth,
       "invalid admin token"},
      {"token_with_inner_space", kGetStatus, status_request,
       Auth("Bearer hostile-admin token"), unauth, "invalid admin token"},
      {"token_split_by_spaces", kGetStatus, status_request,
       Auth("Bearer " + token.substr(0, 5) + " " + token.substr(5)), unauth,
       "invalid admin token"},
      {"empty_bearer", kGetStatus, status_request, Auth("Bearer "), unauth,
       "invalid admin token"},
      {"bearer_alone", kGetStatus, status_request, Auth("Bearer"), unauth,
       "must be 'Bearer <token>'"},
      {"token_without_scheme", kGetStatus, status_request, Auth(token), unauth,
       "must be 'Bearer <token>'"},
      {"basic_scheme", kGetStatus, status_request, Auth("Basic " + token),
       unauth, "must be 'Bearer <token>'"},
      {"token_prefix", kGetStatus, status_request,
       Auth("Bearer " + token.substr(0, token.size() - 1)), unauth,
       "invalid admin token"},
      {"token_plus_one_char", kGetStatus, status_request,
       Auth("Bearer " + token + "x"), unauth, "invalid admin token"},
      {"token_4_kib", kGetStatus, status_request,
       Auth("Bearer " + std::string(4096, 't')), unauth, "invalid admin token"},
      {"token_64_kib", kGetStatus, status_request,
       Auth("Bearer " + std::string(64 << 10, 't')),
       grpc::StatusCode::RESOURCE_EXHAUSTED, "", grpc::StatusCode::UNAVAILABLE},
      {"token_in_other_header",
       kGetStatus,
       status_request,
       {{"x-authorization", "Bearer " + token}},
       unauth,
       "missing"},
      {"set_mode_without_token",
       kSetMode,
       SetModeRequest(2),
       {},
       unauth,
       "missing"},
      {"invalid_mode_with_wrong_token", kSetMode, SetModeRequest(7),
       Auth("Bearer nope"), unauth, "invalid admin token"},
      {"mode_unspecified", kSetMode, SetModeRequest(0), Auth("Bearer " + token),
       invalid, "mode: must be MODE_REAL (1) or MODE_SYNTHETIC (2), got 0"},
      {"mode_3", kSetMode, SetModeRequest(3), Auth("Bearer " + token), invalid,
       "got 3"},
      {"mode_negative", kSetMode, SetModeRequest(-1), Auth("Bearer " + token),
       invalid, "got -1"},
      {"mode_int32_max", kSetMode, SetModeRequest(2147483647),
       Auth("Bearer " + token), invalid, "got 2147483647"},
      // Request bytes that do not parse: INVALID_ARGUMENT naming the
      // message (the methods are raw, so the server parses them itself).
      {"garbage_set_mode", kSetMode,
       std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11),
       Auth("Bearer " + token), invalid, "SetModeRequest: cannot parse"},
      {"garbage_get_status", kGetStatus, std::string("\x0a\x05\x01", 3),
       Auth("Bearer " + token), invalid, "GetStatusRequest: cannot parse"},
      // Authentication comes first: garbage without a token learns nothing.
      {"garbage_set_mode_no_token", kSetMode,
       std::string("\xff\xff\xff", 3), {},
       grpc::StatusCode::UNAUTHENTICATED, ""},
      {"data_method_on_admin_port", "/inputserve.v1.InputService/StreamBatches",
       "", Auth("Bearer " + token), grpc::StatusCode::UNIMPLEMENTED, ""},
      // The scheme is case-insensitive (RFC 7235) and whitespace around the
      // token is ignored, like in the token file: these are accepted.
      {"lowercase_bearer_accepted", kGetStatus, status_request,
       Auth("bearer " + token), grpc::StatusCode::OK, ""},
      {"surrounding_spaces_accepted", kGetStatus, status_request,
       Auth("Bearer   " + token + "  "), grpc::StatusCode::OK, ""},
  };
}

TEST(HostileAdminTest, EveryBadAdminCallGetsItsCodeAndChangesNothing) {
  const std::string dir = MakeTempDir("hostile-admin");
  WriteFileOrDie(dir + "/token", absl::StrCat(kToken, "\n"));
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start({"--dataset=synthetic:cifar10", "--batch_size=16",
                            "--admin_token_file=" + dir + "/token"});
  ASSERT_TRUE(server.ok()) << server.status();
  for (const AdminCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    CallResult r =
        RawCall((*server)->admin_target(), c.method, c.request, c.metadata);
    EXPECT_TRUE(r.status.error_code() == c.code ||
                (c.or_code != grpc::StatusCode::OK &&
                 r.status.error_code() == c.or_code))
        << c.name << ": " << r.status.error_code() << " "
        << r.status.error_message();
    EXPECT_THAT(r.status.error_message(), HasSubstr(c.message))
        << c.name << ": '" << c.message << "' not in '"
        << r.status.error_message() << "'";
    ASSERT_TRUE((*server)->running()) << c.name << "\n" << (*server)->output();
  }
  // The token never reaches the log, whatever was sent.
  EXPECT_THAT((*server)->output(), Not(HasSubstr(kToken)));

  // No bad call flipped the mode: still REAL, generation 1.
  CallResult status = RawCall((*server)->admin_target(), kGetStatus, "",
                              Auth(absl::StrCat("Bearer ", kToken)));
  ASSERT_TRUE(status.status.ok()) << status.status.error_message();
  absl::StatusOr<std::string> metrics =
      HttpGet((*server)->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(MetricValue(*metrics, "inputserve_mode_changes_total").value_or(-1),
            0);
  EXPECT_EQ(MetricValue(*metrics, "inputserve_mode").value_or(-1), 0);
  EXPECT_GE(MetricValue(*metrics,
                        "inputserve_admin_requests_total{code="
                        "\"UNAUTHENTICATED\",rpc=\"GetStatus\"}")
                .value_or(-1),
            10);
  // And a good flip works.
  CallResult flip =
      RawCall((*server)->admin_target(), kSetMode, SetModeRequest(2),
              Auth(absl::StrCat("Bearer ", kToken)));
  EXPECT_TRUE(flip.status.ok()) << flip.status.error_message();
}

}  // namespace
}  // namespace inputserve::testing
