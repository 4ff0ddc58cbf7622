#include "client/transport/unary_retry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace inputserve::client_internal {

void AttemptPolicy::Apply(grpc::ClientContext* context) const {
  context->set_deadline(deadline);
  context->set_wait_for_ready(wait_for_ready);
}

AttemptPolicy FirstAttempt(std::chrono::system_clock::time_point deadline) {
  return AttemptPolicy{deadline, false};
}

AttemptPolicy ReconnectAttempt(std::chrono::system_clock::time_point deadline) {
  const auto window = std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(kReconnectWindow);
  return AttemptPolicy{std::min(deadline, window), true};
}

bool ShouldReconnect(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable;
}

absl::Status BothAttemptsFailed(const absl::Status& first,
                                const absl::Status& retry) {
  // A retry that ran into its window's end is the server still being
  // unreachable; anything else it says is news worth reporting.
  if (retry.code() != absl::StatusCode::kDeadlineExceeded &&
      retry.code() != absl::StatusCode::kUnavailable) {
    return retry;
  }
  return absl::Status(
      first.code(),
      absl::StrCat(first.message(), " (still unreachable after retrying for ",
                   absl::FormatDuration(kReconnectWindow), ")"));
}

absl::Status CallWithReconnect(
    std::chrono::system_clock::time_point deadline,
    absl::FunctionRef<absl::Status(const AttemptPolicy&)> attempt) {
  absl::Status first = attempt(FirstAttempt(deadline));
  if (!ShouldReconnect(first)) return first;
  absl::Status retry = attempt(ReconnectAttempt(deadline));
  if (retry.ok()) return retry;
  return BothAttemptsFailed(first, retry);
}

}  // namespace inputserve::client_internal
