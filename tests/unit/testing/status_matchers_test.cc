#include "tests/testing/status_matchers.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The text a matcher writes when `value` fails it ("" when it matches).
template <typename M, typename T>
std::string Explain(const M& matcher, const T& value) {
  ::testing::StringMatchResultListener listener;
  ::testing::Matcher<const T&> m = matcher;
  if (m.MatchAndExplain(value, &listener)) return "";
  return listener.str();
}

TEST(StatusIsTest, MatchesCodeAndMessage) {
  const absl::Status s =
      absl::InvalidArgumentError("--batch_size=0: too small");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("--batch_size")));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          "--batch_size=0: too small"));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StatusIsTest, RejectsOtherCode) {
  const absl::Status s = absl::NotFoundError("no such file");
  EXPECT_THAT(s, Not(StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr("no such file"))));
  EXPECT_THAT(Explain(StatusIs(absl::StatusCode::kInvalidArgument), s),
              HasSubstr("whose code is NOT_FOUND"));
}

TEST(StatusIsTest, RejectsOtherMessage) {
  const absl::Status s = absl::InvalidArgumentError("--listen is bad");
  EXPECT_THAT(s, Not(StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr("--batch_size"))));
  EXPECT_THAT(Explain(StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("--batch_size")),
                      s),
              HasSubstr("message is \"--listen is bad\""));
  EXPECT_THAT(s, Not(StatusIs(absl::StatusCode::kInvalidArgument, "--listen")));
}

TEST(StatusIsTest, WorksOnStatusOr) {
  const absl::StatusOr<int> error = absl::UnavailableError("down");
  EXPECT_THAT(error, StatusIs(absl::StatusCode::kUnavailable, "down"));
  EXPECT_THAT(error, Not(IsOk()));
  const absl::StatusOr<int> value = 7;
  EXPECT_THAT(value, IsOk());
  EXPECT_THAT(value, Not(StatusIs(absl::StatusCode::kUnavailable)));
}

TEST(StatusIsTest, WorksOnGrpcStatus) {
  const grpc::Status s(grpc::StatusCode::UNAUTHENTICATED, "invalid token");
  EXPECT_THAT(
      s, StatusIs(absl::StatusCode::kUnauthenticated, StartsWith("invalid")));
  EXPECT_THAT(s, Not(StatusIs(absl::StatusCode::kPermissionDenied)));
  EXPECT_THAT(grpc::Status::OK, IsOk());
}

TEST(StatusIsTest, DescribesItself) {
  EXPECT_EQ(::testing::DescribeMatcher<absl::Status>(
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("x"))),
            "has code NOT_FOUND and a message that has substring \"x\"");
  EXPECT_EQ(::testing::DescribeMatcher<absl::Status>(IsOk(), /*negation=*/true),
            "does not have code OK or has a message that never matches");
}

TEST(IsOkTest, RejectsAnError) {
  EXPECT_THAT(absl::Status(), IsOk());
  EXPECT_THAT(absl::InternalError("boom"), Not(IsOk()));
}

}  // namespace
}  // namespace inputserve::testing
