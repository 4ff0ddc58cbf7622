#include "server/auth.h"

#include <fstream>

#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace inputserve {
namespace {

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
  EXPECT_EQ(s.message().find("hunter"), absl::string_view::npos);
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
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.message().find(dir + "/empty"), std::string::npos);
  EXPECT_EQ(TokenAuthenticator::FromFile(dir + "/missing").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(TokenAuthenticatorTest, AllowAllAcceptsAnything) {
  TokenAuthenticator auth = TokenAuthenticator::AllowAll();
  EXPECT_TRUE(auth.Check(nullptr).ok());
}

}  // namespace
}  // namespace inputserve
