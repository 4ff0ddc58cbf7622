// Builds the gRPC channels the client and the admin tool use: unlimited
// receive size (batches are large), keepalive, and TLS/mTLS credentials read
// from PEM files. Stateless functions; thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_CHANNEL_H_
#define INPUTSERVE_CLIENT_TRANSPORT_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/status.h"
#include "inputserve/options.h"

namespace inputserve::client_internal {

class BearerTokenFile;

struct ChannelSettings {
  absl::Duration keepalive_time = absl::Minutes(5);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // A channel of its own (own TCP connection), not shared with other
  // channels to the same target.
  bool dedicated = false;
  // Carries batch data (large server streams): flow control tuned for
  // throughput (see channel.cc). Off for control and admin channels.
  bool bulk_data = false;
  // gRPC's own backoff between connection attempts (by default 1 s growing
  // to 120 s). The client's retry backoff cannot reconnect sooner than this,
  // so it is bounded by the same values: a replica that comes back after a
  // long outage is used within about max_backoff.
  absl::Duration reconnect_initial_backoff = absl::Milliseconds(100);
  absl::Duration reconnect_max_backoff = absl::Seconds(5);
  // For a channel to one address of a dns name: the ":authority" to send
  // ("host:port") and the name the server certificate is checked against
  // ("host"), so certificates issued for the DNS name still verify when the
  // channel connects to a bare IP. Empty: gRPC derives both from the target.
  std::string authority;
  std::string tls_name;
  // When set, every call carries "authorization: Bearer <token>".
  std::shared_ptr<BearerTokenFile> bearer_token;
};

// Insecure credentials, or SSL credentials built from `tls` (files read now;
// a missing or empty file is an INVALID_ARGUMENT naming it).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const TlsOptions& tls);

std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& target,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const ChannelSettings& settings);

// grpc::Status as absl::Status: same code, same message.
absl::Status FromGrpcStatus(const grpc::Status& status);

// Reads a whole file; INVALID_ARGUMENT naming `what` and the path on failure.
absl::StatusOr<std::string> ReadFileContents(const std::string& path,
                                             const std::string& what);

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_CHANNEL_H_
