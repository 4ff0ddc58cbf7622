// Parsing and expansion of dns:/// targets: which targets are names, the
// endpoints a name becomes (address, readable name, TLS name), errors.
#include "client/transport/dns_targets.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace inputserve::client_internal {
namespace {

using ::inputserve::testing::StatusIs;
using ::testing::HasSubstr;

Resolver FixedResolver(std::vector<std::string> addresses) {
  return [addresses](const std::string&, const std::string&)
             -> absl::StatusOr<std::vector<std::string>> { return addresses; };
}

TEST(DnsTargetsTest, ParsesBothDnsForms) {
  for (const char* target : {"dns:///svc.ns.svc.cluster.local:50051",
                             "dns:svc.ns.svc.cluster.local:50051"}) {
    absl::StatusOr<std::optional<DnsName>> name = ParseDnsTarget(target);
    ASSERT_TRUE(name.ok()) << name.status();
    ASSERT_TRUE(name->has_value()) << target;
    EXPECT_EQ((*name)->host, "svc.ns.svc.cluster.local");
    EXPECT_EQ((*name)->port, "50051");
  }
  absl::StatusOr<std::optional<DnsName>> v6 = ParseDnsTarget("dns:///[::1]:7");
  ASSERT_TRUE(v6.ok() && v6->has_value()) << v6.status();
  EXPECT_EQ((*v6)->host, "::1");
  EXPECT_EQ((*v6)->port, "7");
}

TEST(DnsTargetsTest, OtherTargetsAreNotNames) {
  for (const char* target : {"127.0.0.1:5", "ipv4:127.0.0.1:5", "localhost:5",
                             "unix:/tmp/s", "dns://8.8.8.8/svc:5"}) {
    absl::StatusOr<std::optional<DnsName>> name = ParseDnsTarget(target);
    ASSERT_TRUE(name.ok()) << target << ": " << name.status();
    EXPECT_FALSE(name->has_value()) << target;
  }
}

TEST(DnsTargetsTest, RejectsNamesWithoutHostOrPort) {
  for (const char* target :
       {"dns:///svc", "dns:///:50051", "dns:///svc:", "dns:///svc:70000",
        "dns:///svc:http", "dns:///[::1]"}) {
    absl::StatusOr<std::optional<DnsName>> name = ParseDnsTarget(target);
    EXPECT_THAT(
        name, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(target)));
  }
}

TEST(DnsTargetsTest, ANameBecomesOneEndpointPerAddress) {
  absl::StatusOr<std::vector<EndpointSpec>> specs =
      ExpandTarget("dns:///inputserve-headless.ml:50051", 3,
                   FixedResolver({"ipv4:10.0.0.7:50051", "ipv4:10.0.0.8:50051",
                                  "ipv6:[fd00::9]:50051"}));
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 3u);
  EXPECT_EQ((*specs)[0].address, "ipv4:10.0.0.7:50051");
  EXPECT_EQ((*specs)[0].name,
            "dns:///inputserve-headless.ml:50051 (10.0.0.7:50051)");
  EXPECT_EQ((*specs)[2].name,
            "dns:///inputserve-headless.ml:50051 ([fd00::9]:50051)");
  for (const EndpointSpec& spec : *specs) {
    EXPECT_EQ(spec.group, 3);
    // Certificates are checked against the name, not the pod IP.
    EXPECT_EQ(spec.tls_name, "inputserve-headless.ml");
    EXPECT_EQ(spec.authority, "inputserve-headless.ml:50051");
  }
}

TEST(DnsTargetsTest, OtherTargetsPassThroughUnchanged) {
  bool called = false;
  Resolver resolver = [&called](const std::string&, const std::string&)
      -> absl::StatusOr<std::vector<std::string>> {
    called = true;
    return std::vector<std::string>{};
  };
  absl::StatusOr<std::vector<EndpointSpec>> specs =
      ExpandTarget("localhost:50051", 0, resolver);
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 1u);
  EXPECT_EQ((*specs)[0].address, "localhost:50051");
  EXPECT_EQ((*specs)[0].name, "localhost:50051");
  EXPECT_TRUE((*specs)[0].tls_name.empty());
  EXPECT_TRUE((*specs)[0].authority.empty());
  EXPECT_FALSE(called);
}

TEST(DnsTargetsTest, UnresolvableOrEmptyNamesAreUnavailableNamingTheTarget) {
  Resolver failing =
      [](const std::string& host,
         const std::string&) -> absl::StatusOr<std::vector<std::string>> {
    return absl::UnavailableError("cannot resolve '" + host + "'");
  };
  absl::StatusOr<std::vector<EndpointSpec>> specs =
      ExpandTarget("dns:///nowhere.invalid:1", 0, failing);
  ASSERT_THAT(specs.status(), StatusIs(absl::StatusCode::kUnavailable,
                                       HasSubstr("dns:///nowhere.invalid:1")))
      << specs.status();
  specs = ExpandTarget("dns:///empty.test:1", 0, FixedResolver({}));
  ASSERT_THAT(specs.status(), StatusIs(absl::StatusCode::kUnavailable,
                                       HasSubstr("dns:///empty.test:1")));
  EXPECT_THAT(std::string(specs.status().message()), HasSubstr("no address"))
      << specs.status();
}

TEST(DnsTargetsTest, SystemResolverFormatsAddressesForGrpc) {
  Resolver resolver = SystemResolver();
  absl::StatusOr<std::vector<std::string>> v4 = resolver("127.0.0.1", "5");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(*v4, std::vector<std::string>{"ipv4:127.0.0.1:5"});
  absl::StatusOr<std::vector<std::string>> v6 = resolver("::1", "6");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(*v6, std::vector<std::string>{"ipv6:[::1]:6"});
  // RFC 6761: .invalid never resolves.
  absl::StatusOr<std::vector<std::string>> none =
      resolver("no-such-host.invalid", "1");
  EXPECT_THAT(none.status(), StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("no-such-host.invalid")));
}

}  // namespace
}  // namespace inputserve::client_internal
