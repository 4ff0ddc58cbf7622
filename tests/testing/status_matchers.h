// gMock matchers for statuses: StatusIs(code, message_matcher) and IsOk()
// accept absl::Status, absl::StatusOr<T> and grpc::Status (anything with
// error_code()/error_message()). Stateless; thread-safe.
#ifndef INPUTSERVE_TESTS_TESTING_STATUS_MATCHERS_H_
#define INPUTSERVE_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace inputserve::testing {
namespace internal_status {

// The code and message of any status-like value.
struct CodeAndMessage {
  absl::StatusCode code;
  std::string message;
};

inline CodeAndMessage Inspect(const absl::Status& status) {
  return {status.code(), std::string(status.message())};
}

template <typename T>
CodeAndMessage Inspect(const absl::StatusOr<T>& status_or) {
  return Inspect(status_or.status());
}

// grpc::Status: its codes are numbered as absl's.
template <typename T,
          typename = decltype(std::declval<const T&>().error_code()),
          typename = decltype(std::declval<const T&>().error_message())>
CodeAndMessage Inspect(const T& status) {
  return {static_cast<absl::StatusCode>(status.error_code()),
          std::string(status.error_message())};
}

class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code,
                  ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    const CodeAndMessage actual = Inspect(value);
    *listener << "whose code is " << absl::StatusCodeToString(actual.code)
              << " and message is \"" << actual.message << "\"";
    if (actual.code != code_) return false;
    ::testing::StringMatchResultListener message_listener;
    if (!message_.MatchAndExplain(actual.message, &message_listener)) {
      const std::string why = message_listener.str();
      if (!why.empty()) *listener << ", " << why;
      return false;
    }
    return true;
  }

  void DescribeTo(std::ostream* os) const {
    *os << "has code " << absl::StatusCodeToString(code_)
        << " and a message that ";
    message_.DescribeTo(os);
  }

  void DescribeNegationTo(std::ostream* os) const {
    *os << "does not have code " << absl::StatusCodeToString(code_)
        << " or has a message that ";
    message_.DescribeNegationTo(os);
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

}  // namespace internal_status

// Matches a status whose code is `code` and whose message matches
// `message` (a matcher such as HasSubstr("..."), or a string for equality).
template <typename MessageMatcher>
::testing::PolymorphicMatcher<internal_status::StatusIsMatcher> StatusIs(
    absl::StatusCode code, MessageMatcher&& message) {
  return ::testing::MakePolymorphicMatcher(internal_status::StatusIsMatcher(
      code, ::testing::SafeMatcherCast<const std::string&>(
                std::forward<MessageMatcher>(message))));
}

// Matches a status whose code is `code`, whatever its message.
inline ::testing::PolymorphicMatcher<internal_status::StatusIsMatcher> StatusIs(
    absl::StatusCode code) {
  return StatusIs(code, ::testing::_);
}

// Matches an OK status.
inline ::testing::PolymorphicMatcher<internal_status::StatusIsMatcher> IsOk() {
  return StatusIs(absl::StatusCode::kOk);
}

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_TESTING_STATUS_MATCHERS_H_
