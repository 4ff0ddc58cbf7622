#include "client/transport/backoff.h"

#include "gtest/gtest.h"

namespace inputserve::client_internal {
namespace {

TEST(BackoffTest, GrowsWithJitterUpToTheCapAndResets) {
  Backoff b(absl::Milliseconds(100), absl::Milliseconds(1000));
  const double expected[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (double base : expected) {
    const double ms = absl::ToDoubleMilliseconds(b.Next());
    EXPECT_GE(ms, base * 0.8 - 1e-6);
    EXPECT_LE(ms, base * 1.2 + 1e-6);
  }
  b.Reset();
  EXPECT_LE(absl::ToDoubleMilliseconds(b.Next()), 120 + 1e-6);
}

TEST(BackoffTest, JitterVaries) {
  Backoff b(absl::Seconds(1), absl::Seconds(1));
  const absl::Duration first = b.Next();
  bool varied = false;
  for (int i = 0; i < 20 && !varied; ++i) varied = b.Next() != first;
  EXPECT_TRUE(varied);
}

}  // namespace
}  // namespace inputserve::client_internal
