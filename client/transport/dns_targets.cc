#include "client/transport/dns_targets.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"

namespace inputserve::client_internal {
namespace {

// "ipv4:a.b.c.d:port" / "ipv6:[addr]:port" for one getaddrinfo result.
std::optional<std::string> GrpcAddress(const addrinfo& ai,
                                       const std::string& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ai.ai_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(ai.ai_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) == nullptr) {
      return std::nullopt;
    }
    return absl::StrCat("ipv4:", text, ":", port);
  }
  if (ai.ai_family == AF_INET6) {
    const auto* in = reinterpret_cast<const sockaddr_in6*>(ai.ai_addr);
    if (inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof(text)) == nullptr) {
      return std::nullopt;
    }
    return absl::StrCat("ipv6:[", text, "]:", port);
  }
  return std::nullopt;
}

}  // namespace

Resolver SystemResolver() {
  return [](const std::string& host, const std::string& port)
             -> absl::StatusOr<std::vector<std::string>> {
    addrinfo hints = {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot resolve '", host, "': ", gai_strerror(rc)));
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found,
                                                             &freeaddrinfo);
    std::vector<std::string> out;
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
      std::optional<std::string> address = GrpcAddress(*ai, port);
      if (address && std::find(out.begin(), out.end(), *address) == out.end()) {
        out.push_back(*std::move(address));
      }
    }
    return out;
  };
}

absl::StatusOr<std::optional<DnsName>> ParseDnsTarget(
    const std::string& target) {
  absl::string_view rest(target);
  if (absl::StartsWith(rest, "dns:///")) {
    rest.remove_prefix(7);
  } else if (absl::StartsWith(rest, "dns://")) {
    return std::optional<DnsName>();  // Names its own DNS server: gRPC's.
  } else if (absl::StartsWith(rest, "dns:")) {
    rest.remove_prefix(4);
  } else {
    return std::optional<DnsName>();
  }
  DnsName name;
  absl::string_view port;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos || close + 1 >= rest.size() ||
        rest[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat(
          "target '", target, "': an IPv6 host must be written [addr]:port"));
    }
    name.host = std::string(rest.substr(1, close - 1));
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "target '", target, "' names no port; write dns:///host:port"));
    }
    name.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  }
  int port_number = 0;
  if (name.host.empty() || !absl::SimpleAtoi(port, &port_number) ||
      port_number < 1 || port_number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("target '", target,
                     "' is not dns:///host:port with a host and a port in "
                     "[1, 65535]"));
  }
  name.port = std::string(port);
  return std::optional<DnsName>(std::move(name));
}

absl::StatusOr<std::vector<EndpointSpec>> ExpandTarget(
    const std::string& target, int group, const Resolver& resolver) {
  INPUTSERVE_ASSIGN_OR_RETURN(std::optional<DnsName> dns,
                              ParseDnsTarget(target));
  if (!dns.has_value()) {
    EndpointSpec spec;
    spec.address = target;
    spec.name = target;
    spec.group = group;
    return std::vector<EndpointSpec>{std::move(spec)};
  }
  const DnsName& name = *dns;
  absl::StatusOr<std::vector<std::string>> addresses =
      resolver(name.host, name.port);
  if (!addresses.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "resolving target '", target, "': ", addresses.status().message()));
  }
  if (addresses->empty()) {
    return absl::UnavailableError(absl::StrCat("resolving target '", target,
                                               "': the name has no address"));
  }
  const bool literal_v6 = name.host.find(':') != std::string::npos;
  std::vector<EndpointSpec> out;
  for (const std::string& address : *addresses) {
    EndpointSpec spec;
    spec.address = address;
    // "ipv4:10.0.0.7:50051" -> "10.0.0.7:50051" for people to read.
    const size_t scheme = address.find(':');
    spec.name = absl::StrCat(target, " (", address.substr(scheme + 1), ")");
    spec.group = group;
    spec.authority = literal_v6 ? absl::StrCat("[", name.host, "]:", name.port)
                                : absl::StrCat(name.host, ":", name.port);
    spec.tls_name = name.host;
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace inputserve::client_internal
