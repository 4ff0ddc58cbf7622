// Bad flags and bad data stop the server at start-up with a message that
// names the problem, and a non-zero exit code.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;

class StartupErrorsTest : public ::testing::TestWithParam<BadStart> {};

TEST_P(StartupErrorsTest, ExitsNonZeroNamingTheProblem) {
  ExpectStartFails(GetParam(),
                   {"--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0"});
}

std::string Dir() {
  static const std::string* dir = new std::string(MakeTempDir("startup"));
  return *dir;
}

std::vector<BadStart> Cases() {
  const std::string d = Dir();
  WriteFileOrDie(d + "/short.bin", std::string(3000, 'x'));
  WriteFileOrDie(d + "/token", "t0k\n");
  const std::string noauth = "--admin_insecure_no_auth";
  return {
      {"no_dataset", {noauth}, "--dataset is required"},
      {"bad_format", {noauth, "--dataset=mnist:/x"}, "mnist"},
      {"missing_files", {noauth, "--dataset=cifar10:" + d + "/nothing*.bin"},
       d + "/nothing*.bin"},
      {"truncated_cifar", {noauth, "--dataset=cifar10:" + d + "/short.bin"},
       "short.bin"},
      {"batch_size_zero", {noauth, "--dataset=synthetic:cifar10",
                           "--batch_size=0"},
       "--batch_size=0"},
      {"bad_mode", {noauth, "--dataset=synthetic:cifar10", "--mode=fast"},
       "--mode"},
      {"bad_listen", {noauth, "--dataset=synthetic:cifar10", "--listen=nope"},
       "--listen='nope'"},
      {"shard_out_of_range", {noauth, "--dataset=synthetic:cifar10",
                              "--num_shards=2", "--shard_index=2"},
       "--shard_index=2"},
      {"admin_without_token", {"--dataset=synthetic:cifar10"},
       "--admin_token_file"},
      {"token_file_missing", {"--dataset=synthetic:cifar10",
                              "--admin_token_file=" + d + "/none"},
       d + "/none"},
      {"tls_key_missing", {noauth, "--dataset=synthetic:cifar10",
                           "--tls_cert_file=" + d + "/token"},
       "--tls_key_file"},
      {"positional_argument", {noauth, "--dataset=synthetic:cifar10", "oops"},
       "unexpected argument 'oops'"},
      {"unknown_flag", {noauth, "--dataset=synthetic:cifar10", "--bogus=1"},
       "bogus"},
  };
}

INSTANTIATE_TEST_SUITE_P(Table, StartupErrorsTest,
                         ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

TEST(StartupErrorsTest, PortInUseIsAClearError) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  CommandResult result =
      RunCommand({BinPath("inputserve-server"), "--dataset=synthetic:cifar10",
                  "--admin_listen=", "--metrics_listen=127.0.0.1:0",
                  absl::StrCat("--listen=127.0.0.1:", port)});
  close(fd);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.output,
              HasSubstr(absl::StrCat("--listen=127.0.0.1:", port)))
      << result.output;
}

}  // namespace
}  // namespace inputserve::testing
