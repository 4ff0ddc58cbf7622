// CallWithReconnect: which first failures get a second attempt, how each
// attempt is made, and what is reported when both fail.
#include "client/transport/unary_retry.h"

#include <functional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace inputserve::client_internal {
namespace {

using ::inputserve::testing::StatusIs;
using ::testing::HasSubstr;

using Clock = std::chrono::system_clock;

struct Recorder {
  explicit Recorder(std::vector<absl::Status> r) : replies(std::move(r)) {}
  std::vector<absl::Status> replies;  // Returned in order.
  std::vector<AttemptPolicy> seen;
  absl::Status operator()(const AttemptPolicy& policy) {
    seen.push_back(policy);
    return replies[seen.size() - 1];
  }
};

TEST(UnaryRetryTest, UnavailableGetsOneRetryThatWaitsForTheConnection) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  Recorder r({absl::UnavailableError("connect: refused"), absl::OkStatus()});
  EXPECT_TRUE(CallWithReconnect(deadline, std::ref(r)).ok());
  ASSERT_EQ(r.seen.size(), 2u);
  EXPECT_FALSE(r.seen[0].wait_for_ready);
  EXPECT_EQ(r.seen[0].deadline, deadline);
  EXPECT_TRUE(r.seen[1].wait_for_ready);
  // The retry waits at most the reconnect window, not the whole deadline.
  EXPECT_LE(r.seen[1].deadline, Clock::now() + absl::ToChronoMilliseconds(
                                                   kReconnectWindow));
  EXPECT_LT(r.seen[1].deadline, deadline);
}

TEST(UnaryRetryTest, TheRetryNeverOutlivesTheCallersDeadline) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(10);
  EXPECT_EQ(ReconnectAttempt(deadline).deadline, deadline);
}

TEST(UnaryRetryTest, OtherOutcomesAreFinal) {
  for (const absl::Status& s :
       {absl::OkStatus(), absl::UnauthenticatedError("token"),
        absl::DeadlineExceededError("slow"), absl::NotFoundError("service")}) {
    Recorder r({s});
    EXPECT_EQ(CallWithReconnect(Clock::now() + std::chrono::seconds(5),
                                std::ref(r)),
              s);
    EXPECT_EQ(r.seen.size(), 1u) << s;
  }
}

TEST(UnaryRetryTest, AServerStillDownIsReportedWithTheFirstReason) {
  Recorder r({absl::UnavailableError("ipv4:127.0.0.1:1: Connection refused"),
              absl::DeadlineExceededError("Deadline Exceeded")});
  absl::Status s =
      CallWithReconnect(Clock::now() + std::chrono::seconds(5), std::ref(r));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable,
                          HasSubstr("Connection refused")))
      << s;
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("still unreachable after retrying"))
      << s;
}

TEST(UnaryRetryTest, NewsFromTheRetryIsReported) {
  Recorder r({absl::UnavailableError("refused"),
              absl::PermissionDeniedError("not you")});
  EXPECT_EQ(
      CallWithReconnect(Clock::now() + std::chrono::seconds(5), std::ref(r)),
      absl::PermissionDeniedError("not you"));
}

}  // namespace
}  // namespace inputserve::client_internal
