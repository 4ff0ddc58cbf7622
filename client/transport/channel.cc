#include "client/transport/channel.h"

#include <algorithm>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/transport/bearer_token.h"
#include "client/transport/receive_memory.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace inputserve::client_internal {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

absl::StatusOr<std::string> ReadFileContents(const std::string& path,
                                             const std::string& what) {
  absl::StatusOr<std::string> contents = ReadWholeFile(path, what);
  if (!contents.ok()) {
    return absl::InvalidArgumentError(contents.status().message());
  }
  return contents;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const TlsOptions& tls) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  const struct {
    const std::string& path;
    const char* what;
    std::string* out;
  } files[] = {
      {tls.ca_file, "TLS CA file (tls.ca_file)", &ssl.pem_root_certs},
      {tls.cert_file, "TLS client certificate (tls.cert_file)",
       &ssl.pem_cert_chain},
      {tls.key_file, "TLS client key (tls.key_file)", &ssl.pem_private_key}};
  for (const auto& f : files) {
    if (f.path.empty()) continue;
    INPUTSERVE_ASSIGN_OR_RETURN(std::string pem,
                                ReadFileContents(f.path, f.what));
    if (pem.find("-----BEGIN") == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          f.what, " '", f.path, "' holds no PEM block (-----BEGIN ...)"));
    }
    *f.out = std::move(pem);
  }
  if (ssl.pem_cert_chain.empty() != ssl.pem_private_key.empty()) {
    return absl::InvalidArgumentError(
        "TLS client certificate and key must be given together");
  }
  return grpc::SslCredentials(ssl);
}

std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& target,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const ChannelSettings& settings) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetInt(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(settings.keepalive_time)));
  args.SetInt(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(settings.keepalive_timeout)));
  const auto millis = [](absl::Duration d) {
    return static_cast<int>(std::clamp<int64_t>(
        absl::ToInt64Milliseconds(d), 1, std::numeric_limits<int>::max()));
  };
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              millis(settings.reconnect_initial_backoff));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              millis(settings.reconnect_max_backoff));
  if (settings.dedicated) {
    // Without this, channels with equal arguments share one subchannel and
    // therefore one TCP connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  }
  if (settings.bulk_data) {
    // A fixed 16 MiB stream window instead of BDP probing (64 KiB initial
    // window grown by PING round trips): fewer WINDOW_UPDATE/PING frames and
    // fewer stalls of the sender. inputserve-bench-stream --paths=raw,real,
    // with and without these two args interleaved, 3 rounds of 3-run
    // medians (2 shared cores, load ~3), median round: REAL mode CPU per
    // payload KiB 968 -> 637 ns (1 MiB batches), 747 -> 515 (8 MiB),
    // 886 -> 452 (38.5 MB); GB/s ratio to raw TCP 0.39 -> 0.45, 0.77 -> 0.84,
    // 0.53 -> 0.89. In an earlier sweep a 4 MiB window, BDP off alone, and a
    // 16 MiB max frame size on top each cost more CPU, so none is set.
    // Cost: while the prefetch is full, gRPC may buffer up to 16 MiB more
    // per data stream than with the default window.
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 << 20);
    // recv_bench (38.5 MB batches, pinned consumer): page faults per batch
    // 4024 -> 22, receive CPU per GB 0.80 -> 0.59 s.
    KeepReceiveMemoryResident();
  }
  if (!settings.authority.empty()) {
    args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, settings.authority);
  }
  if (!settings.tls_name.empty()) {
    // Only consulted by SSL credentials; harmless on insecure channels.
    args.SetSslTargetNameOverride(settings.tls_name);
  }
  if (settings.bearer_token != nullptr) {
    std::vector<
        std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(
        MakeBearerTokenInterceptorFactory(settings.bearer_token));
    return grpc::experimental::CreateCustomChannelWithInterceptors(
        target, credentials, args, std::move(interceptors));
  }
  return grpc::CreateCustomChannel(target, credentials, args);
}

}  // namespace inputserve::client_internal
