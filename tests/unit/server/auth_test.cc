#include "server/auth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace inputserve {
namespace {

using ::inputserve::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

absl::Status CheckHeader(const TokenAuthenticator& auth,
                         absl::string_view header) {
  return auth.Check(&header);
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secreT", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secre", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secrets", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("", "secret"));
}

TEST(TokenAuthenticatorTest, AcceptsOnlyTheRightBearerToken) {
  absl::StatusOr<TokenAuthenticator> auth =
      TokenAuthenticator::FromToken("  s3cret-token \n");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE(CheckHeader(*auth, "Bearer s3cret-token").ok());
  EXPECT_TRUE(CheckHeader(*auth, "bearer s3cret-token").ok());
  EXPECT_EQ(CheckHeader(*auth, "Bearer wrong").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckHeader(*auth, "s3cret-token").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckHeader(*auth, "Basic s3cret-token").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckHeader(*auth, "Bearer ").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth->Check(nullptr).code(), absl::StatusCode::kUnauthenticated);
}

TEST(TokenAuthenticatorTest, ErrorsNeverEchoTheToken) {
  absl::StatusOr<TokenAuthenticator> auth =
      TokenAuthenticator::FromToken("hunter2");
  ASSERT_TRUE(auth.ok());
  absl::Status s = CheckHeader(*auth, "Bearer hunter3");
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("hunter")));
}

TEST(TokenAuthenticatorTest, NamesTheTokenAndItsFlag) {
  absl::StatusOr<TokenAuthenticator> data =
      TokenAuthenticator::FromToken("tok", "data");
  ASSERT_TRUE(data.ok());
  EXPECT_THAT(
      CheckHeader(*data, "Bearer other"),
      StatusIs(absl::StatusCode::kUnauthenticated, "invalid data token"));
  EXPECT_THAT(
      TokenAuthenticator::FromToken("", "data"),
      StatusIs(absl::StatusCode::kInvalidArgument, "data token is empty"));
  const std::string dir = testing::MakeTempDir("auth_name");
  EXPECT_THAT(
      TokenAuthenticator::FromFile(dir + "/missing", absl::Seconds(1), "data"),
      StatusIs(absl::StatusCode::kNotFound,
               HasSubstr("--data_token_file: cannot read")));
}

TEST(TokenAuthenticatorTest, RejectsEmptyAndNonPrintableTokens) {
  EXPECT_EQ(TokenAuthenticator::FromToken("  \n").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenAuthenticator::FromToken("a b").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TokenAuthenticatorTest, ReadsFirstLineOfFile) {
  const std::string dir = testing::MakeTempDir("auth");
  testing::WriteFileOrDie(dir + "/token", "  tok-1  \nsecond-line\n");
  absl::StatusOr<TokenAuthenticator> auth =
      TokenAuthenticator::FromFile(dir + "/token");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE(CheckHeader(*auth, "Bearer tok-1").ok());
  EXPECT_FALSE(CheckHeader(*auth, "Bearer second-line").ok());

  testing::WriteFileOrDie(dir + "/empty", "\n");
  absl::Status empty = TokenAuthenticator::FromFile(dir + "/empty").status();
  EXPECT_THAT(empty, StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr(dir + "/empty")));
  EXPECT_EQ(TokenAuthenticator::FromFile(dir + "/missing").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(TokenAuthenticatorTest, AllowAllAcceptsAnything) {
  TokenAuthenticator auth = TokenAuthenticator::AllowAll();
  EXPECT_TRUE(auth.Check(nullptr).ok());
}

// Rewrites `path` so its identity changes even within one mtime tick: a new
// file renamed over the old one (new inode).
void ReplaceFile(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".new";
  testing::WriteFileOrDie(tmp, contents);
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0) << path;
}

TEST(TokenAuthenticatorReloadTest, PicksUpARotatedFile) {
  const std::string dir = testing::MakeTempDir("auth_reload");
  const std::string path = dir + "/token";
  testing::WriteFileOrDie(path, "old-token\n");
  absl::StatusOr<TokenAuthenticator> auth =
      TokenAuthenticator::FromFile(path, absl::ZeroDuration());
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE(CheckHeader(*auth, "Bearer old-token").ok());

  ReplaceFile(path, "new-token\n");
  EXPECT_EQ(CheckHeader(*auth, "Bearer old-token").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(CheckHeader(*auth, "Bearer new-token").ok());

  // An in-place rewrite (same inode, other size) is seen too.
  testing::WriteFileOrDie(path, "third-token-longer\n");
  EXPECT_TRUE(CheckHeader(*auth, "Bearer third-token-longer").ok());
  EXPECT_FALSE(CheckHeader(*auth, "Bearer new-token").ok());
}

TEST(TokenAuthenticatorReloadTest, FollowsAKubernetesStyleSymlinkSwap) {
  // A Secret volume: token -> ..data/token, ..data -> ..<timestamp>; an
  // update writes a new directory and renames a new ..data link over the
  // old one.
  const std::string dir = testing::MakeTempDir("auth_k8s");
  ASSERT_EQ(::mkdir((dir + "/..v1").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((dir + "/..v2").c_str(), 0700), 0);
  testing::WriteFileOrDie(dir + "/..v1/token", "token-v1");
  // Same size as v1, so only the inode tells them apart.
  testing::WriteFileOrDie(dir + "/..v2/token", "token-v2");
  ASSERT_EQ(::symlink("..v1", (dir + "/..data").c_str()), 0);
  ASSERT_EQ(::symlink("..data/token", (dir + "/token").c_str()), 0);
  absl::StatusOr<TokenAuthenticator> auth =
      TokenAuthenticator::FromFile(dir + "/token", absl::ZeroDuration());
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE(CheckHeader(*auth, "Bearer token-v1").ok());

  ASSERT_EQ(::symlink("..v2", (dir + "/..data_tmp").c_str()), 0);
  ASSERT_EQ(
      std::rename((dir + "/..data_tmp").c_str(), (dir + "/..data").c_str()), 0);
  EXPECT_TRUE(CheckHeader(*auth, "Bearer token-v2").ok());
  EXPECT_FALSE(CheckHeader(*auth, "Bearer token-v1").ok());
}

TEST(TokenAuthenticatorReloadTest, KeepsThePreviousTokenWhenTheFileGoesBad) {
  const std::string dir = testing::MakeTempDir("auth_bad");
  const std::string path = dir + "/token";
  testing::WriteFileOrDie(path, "good-token\n");
  absl::StatusOr<TokenAuthenticator> auth =
      TokenAuthenticator::FromFile(path, absl::ZeroDuration());
  ASSERT_TRUE(auth.ok()) << auth.status();

  ::testing::internal::CaptureStderr();
  ReplaceFile(path, "\n");  // Empty.
  EXPECT_TRUE(CheckHeader(*auth, "Bearer good-token").ok());
  EXPECT_FALSE(CheckHeader(*auth, "Bearer ").ok());
  ReplaceFile(path, "has a space\n");  // Invalid.
  EXPECT_TRUE(CheckHeader(*auth, "Bearer good-token").ok());
  ASSERT_EQ(std::remove(path.c_str()), 0);  // Gone.
  EXPECT_TRUE(CheckHeader(*auth, "Bearer good-token").ok());
  if (::geteuid() != 0) {  // root reads mode-000 files anyway.
    testing::WriteFileOrDie(path, "unreadable-token\n");
    ASSERT_EQ(::chmod(path.c_str(), 0), 0);
    EXPECT_TRUE(CheckHeader(*auth, "Bearer good-token").ok());
    EXPECT_FALSE(CheckHeader(*auth, "Bearer unreadable-token").ok());
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);  // ctime changes: re-read.
    EXPECT_TRUE(CheckHeader(*auth, "Bearer unreadable-token").ok());
  }
  // A good file again is taken.
  ReplaceFile(path, "recovered-token\n");
  EXPECT_TRUE(CheckHeader(*auth, "Bearer recovered-token").ok());
  EXPECT_FALSE(CheckHeader(*auth, "Bearer good-token").ok());
  const std::string log = ::testing::internal::GetCapturedStderr();
  // One warning for the whole bad spell, naming the file, never a token.
  size_t warnings = 0;
  for (size_t at = log.find("keeping the previous admin token");
       at != std::string::npos;
       at = log.find("keeping the previous admin token", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << log;
  EXPECT_THAT(log, HasSubstr(path)) << log;
  EXPECT_THAT(log, Not(HasSubstr("good-token"))) << log;
  EXPECT_THAT(log, Not(HasSubstr("recovered-token"))) << log;
}

TEST(TokenAuthenticatorReloadTest, ChecksTheFileAtMostOncePerInterval) {
  const std::string dir = testing::MakeTempDir("auth_rate");
  const std::string path = dir + "/token";
  testing::WriteFileOrDie(path, "first-token\n");
  constexpr absl::Duration kInterval = absl::Seconds(1);
  const absl::Time start = absl::Now();
  absl::StatusOr<TokenAuthenticator> auth =
      TokenAuthenticator::FromFile(path, kInterval);
  ASSERT_TRUE(auth.ok()) << auth.status();
  ReplaceFile(path, "second-token\n");
  // Every call until the switch is an admin call that may re-check the file;
  // the new token must win only once the interval has passed.
  const absl::Time deadline = start + absl::Seconds(10);
  while (!CheckHeader(*auth, "Bearer second-token").ok() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const absl::Duration switched_after = absl::Now() - start;
  EXPECT_GE(switched_after, kInterval) << "the file was re-read too early";
  EXPECT_LT(switched_after, absl::Seconds(10)) << "the file was never re-read";
  EXPECT_FALSE(CheckHeader(*auth, "Bearer first-token").ok());
}

TEST(TokenAuthenticatorReloadTest, ParseTokenTakesTheFirstLineOnly) {
  EXPECT_EQ(*ParseToken(" abc \nsecond"), "abc");
  EXPECT_EQ(ParseToken("\nabc").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status bad = ParseToken("sec ret").status();
  EXPECT_THAT(std::string(bad.message()), Not(HasSubstr("sec")));
}

}  // namespace
}  // namespace inputserve
