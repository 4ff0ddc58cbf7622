// One-shot (unary) calls that survive one failed connection attempt.
//
// A unary call made without wait_for_ready fails at once with UNAVAILABLE
// when the channel's connection attempt fails. That is what a tool wants
// from a server that is down (an answer now, with gRPC's reason), but one
// failed attempt is not proof that the server is down: it may be starting,
// and gRPC 1.51 (Debian 12) can report a connect() that is merely in
// progress as failed, because errno is overwritten between connect() and
// its check (fixed upstream in grpc/grpc pull 35064). This project's CI saw
// it as "UNKNOWN: ipv4:127.0.0.1:PORT: No such file or directory" from a
// health check against a server that was listening.
//
// So every one-shot call of the client library and of inputserve-admin goes
// through CallWithReconnect: a first attempt that fails fast, and after an
// UNAVAILABLE one more attempt with wait_for_ready, which rides gRPC's
// reconnection (backoff 100 ms, growing) for at most kReconnectWindow. A
// server that stays down is reported with the first attempt's error.
// Stateless; thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_UNARY_RETRY_H_
#define INPUTSERVE_CLIENT_TRANSPORT_UNARY_RETRY_H_

#include <chrono>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"

namespace inputserve::client_internal {

// How long the second attempt may wait for a connection: gRPC reconnects
// after 100 ms, then after about 160, 256 and 410 ms more (ChannelSettings).
inline constexpr absl::Duration kReconnectWindow = absl::Seconds(1);

// How one attempt is made: its deadline and whether it waits for the
// channel to connect.
struct AttemptPolicy {
  std::chrono::system_clock::time_point deadline;
  bool wait_for_ready = false;
  // Sets both on a fresh context.
  void Apply(grpc::ClientContext* context) const;
};

// The first attempt's policy: fail fast, by `deadline`.
AttemptPolicy FirstAttempt(std::chrono::system_clock::time_point deadline);
// The retry's: wait for the connection, until `deadline` or
// kReconnectWindow from now, whichever comes first.
AttemptPolicy ReconnectAttempt(std::chrono::system_clock::time_point deadline);

// Whether a first attempt that ended in `status` gets the retry.
bool ShouldReconnect(const absl::Status& status);
// The status to report when the retry failed too: the first attempt's
// (gRPC's reason for the failed connection), noting the retry.
absl::Status BothAttemptsFailed(const absl::Status& first,
                                const absl::Status& retry);

// Runs `attempt` with FirstAttempt(deadline) and, if ShouldReconnect, once
// more with ReconnectAttempt(deadline). `attempt` makes one call on a fresh
// grpc::ClientContext to which it applies the policy.
absl::Status CallWithReconnect(
    std::chrono::system_clock::time_point deadline,
    absl::FunctionRef<absl::Status(const AttemptPolicy&)> attempt);

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_UNARY_RETRY_H_
