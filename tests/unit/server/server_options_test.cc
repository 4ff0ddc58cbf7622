#include "server/server_options.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace inputserve {
namespace {

using ::inputserve::testing::StatusIs;
using ::testing::HasSubstr;

ServerOptions Valid() {
  ServerOptions o;
  o.dataset.spec = "synthetic:cifar10";
  o.admin_insecure_no_auth = true;
  return o;
}

// Asserts `o` fails with `code` and a message containing `needle`.
void ExpectInvalid(const ServerOptions& o, absl::StatusCode code,
                   const std::string& needle) {
  absl::Status s = ValidateServerOptions(o);
  EXPECT_THAT(s, StatusIs(code, HasSubstr(needle)));
}

TEST(ServerOptionsTest, DefaultsWithDatasetAreValid) {
  EXPECT_TRUE(ValidateServerOptions(Valid()).ok());
}

TEST(ServerOptionsTest, NamesTheBadFlagAndTheAllowedRange) {
  ServerOptions o = Valid();
  o.batch_size = 0;
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument,
                "--batch_size=0 is out of range: allowed 1..65536");
  o = Valid();
  o.dataset.spec = "";
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "--dataset is required");
  o = Valid();
  o.dataset.num_shards = 3;
  o.dataset.shard_index = 3;
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "--shard_index=3");
  o = Valid();
  o.chunk_bytes = 10;
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "--chunk_bytes=10");
  o = Valid();
  o.max_streams = 0;
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "--max_streams=0");
  o = Valid();
  o.jpeg_cache_bytes = -1;
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "--jpeg_cache_bytes=-1");
  o = Valid();
  o.prefetch_batches = 0;
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "--prefetch_batches");
}

TEST(ServerOptionsTest, RejectsBadAddresses) {
  for (const char* bad : {"nonsense", ":50051", "host:99999", "host:abc",
                          "ho st:1", "[::1:5"}) {
    ServerOptions o = Valid();
    o.listen = bad;
    ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "--listen=");
  }
  ServerOptions o = Valid();
  o.listen = "[::1]:0";
  EXPECT_TRUE(ValidateServerOptions(o).ok());
  o.metrics_listen = "x";
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "--metrics_listen=");
}

TEST(ServerOptionsTest, AdminNeedsATokenUnlessExplicitlyInsecure) {
  ServerOptions o = Valid();
  o.admin_insecure_no_auth = false;
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument,
                "--admin_insecure_no_auth");
  o.admin_listen = "";  // admin disabled: no token needed
  EXPECT_TRUE(ValidateServerOptions(o).ok());
  o.admin_listen = "127.0.0.1:0";
  o.admin_token_file = "/nonexistent/token";
  ExpectInvalid(o, absl::StatusCode::kNotFound, "/nonexistent/token");
  o.admin_token_file = testing::MakeTempDir("opts");
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "is a directory");
}

TEST(ServerOptionsTest, TlsFilesComeInPairs) {
  ServerOptions o = Valid();
  o.tls.cert_file = "/etc/hostname";
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "--tls_key_file");
  o = Valid();
  o.tls.client_ca_file = "/etc/hostname";
  ExpectInvalid(o, absl::StatusCode::kInvalidArgument, "--tls_client_ca_file");
}

TEST(ServerOptionsTest, ParsesModes) {
  EXPECT_EQ(*ParseServingMode("real"), ServingMode::kReal);
  EXPECT_EQ(*ParseServingMode("SYNTHETIC"), ServingMode::kSynthetic);
  EXPECT_EQ(*ParseServingMode("MODE_SYNTHETIC"), ServingMode::kSynthetic);
  absl::Status bad = ParseServingMode("fast").status();
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument,
                            HasSubstr("real, synthetic")));
}

}  // namespace
}  // namespace inputserve
