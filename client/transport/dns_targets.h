// Expands ClientOptions targets into endpoints, one per server address: a
// "dns:///host:port" (or "dns:host:port") name becomes one endpoint per
// address the name resolves to, so every replica behind a Kubernetes
// headless Service gets its own streams (gRPC's own dns resolver with its
// default pick_first policy would use only one). Other targets pass through
// unchanged. Stateless functions; thread-safe when the resolver is.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_DNS_TARGETS_H_
#define INPUTSERVE_CLIENT_TRANSPORT_DNS_TARGETS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace inputserve::client_internal {

// Resolves `host` for TCP port `port` into gRPC targets, one per address:
// "ipv4:10.0.0.7:50051" or "ipv6:[fd00::7]:50051". An error or an empty list
// both mean the name cannot be used now. Tests inject their own.
using Resolver = std::function<absl::StatusOr<std::vector<std::string>>(
    const std::string& host, const std::string& port)>;

// getaddrinfo (AF_UNSPEC, SOCK_STREAM); duplicates dropped, order kept.
// UNAVAILABLE naming the host on failure.
Resolver SystemResolver();

struct DnsName {
  std::string host;  // Without brackets for IPv6 literals.
  std::string port;
};

// The host and port of a "dns:///host:port" or "dns:host:port" target;
// nullopt for any other target (including "dns://server/..." names, which
// carry their own DNS server and are left to gRPC). INVALID_ARGUMENT when a
// dns target lacks a host or port.
absl::StatusOr<std::optional<DnsName>> ParseDnsTarget(
    const std::string& target);

// One server address to open streams to.
struct EndpointSpec {
  std::string address;  // What the channel connects to (a gRPC target).
  // For messages and Batch::source: the target as given, plus the address
  // when it came from a dns name: "dns:///svc:50051 (10.0.0.7:50051)".
  std::string name;
  int group = 0;  // Index of the ClientOptions target it came from.
  // ":authority" and the name the server certificate must carry: the dns
  // host ("host:port" / "host"); empty for targets that pass through.
  std::string authority;
  std::string tls_name;
};

// The endpoints of targets[group]. UNAVAILABLE naming the target when a dns
// name cannot be resolved or resolves to no address.
absl::StatusOr<std::vector<EndpointSpec>> ExpandTarget(
    const std::string& target, int group, const Resolver& resolver);

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_DNS_TARGETS_H_
