// dns:/// targets against real inputserve-server processes: a name that
// resolves to several replicas is read from all of them, a real getaddrinfo
// lookup works end to end, and with TLS the certificate is checked against
// the name rather than the replica's IP.
//
// Tests may bind only 127.0.0.1, and on this machine "localhost" resolves
// to 127.0.0.1 alone, so no real name reaches two servers: the many-replica
// case injects a resolver (the client's internal seam) that maps
// "replicas.test" to both servers' addresses.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/client_impl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "tests/integration/tls/test_pki.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;

using client_internal::ClientImpl;
using client_internal::Resolver;

class DnsTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("client_dns_it");
    WriteFileOrDie(dir_ + "/token", "dns-token\n");
  }

  std::unique_ptr<ServerProcess> StartServer(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--dataset=synthetic:cifar10",
                                     "--batch_size=32",
                                     "--admin_token_file=" + dir_ + "/token"};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(args);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  static ClientOptions Options(std::string target) {
    ClientOptions o;
    o.targets = {std::move(target)};
    o.device_kind = DeviceKind::kHost;
    o.initial_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    o.connect_timeout = absl::Seconds(5);
    o.unavailable_timeout = absl::Seconds(10);
    return o;
  }

  // Resolves `host` (any port) to the servers' data ports on 127.0.0.1.
  static Resolver ResolverFor(
      const std::string& host,
      const std::vector<const ServerProcess*>& servers) {
    std::vector<std::string> addresses;
    for (const ServerProcess* s : servers) {
      addresses.push_back(absl::StrCat("ipv4:127.0.0.1:", s->data_port()));
    }
    return [host, addresses](
               const std::string& h,
               const std::string&) -> absl::StatusOr<std::vector<std::string>> {
      if (h != host) return absl::UnavailableError("unknown name " + h);
      return addresses;
    };
  }

  // The server's count of real batches sent, once it is above zero (or
  // after 10 s). A server counts a batch when gRPC reports its last write
  // done, which may come after the client already holds the batch.
  static double BatchesSent(const ServerProcess& server) {
    double sent = -1;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    do {
      absl::StatusOr<std::string> text =
          HttpGet(server.metrics_port(), "/metrics");
      absl::StatusOr<double> v =
          text.ok() ? MetricValue(*text,
                                  "inputserve_batches_sent_total{mode=\"real\"}")
                    : absl::StatusOr<double>(text.status());
      sent = v.ok() ? *v : -1;
      if (sent > 0) break;
      absl::SleepFor(absl::Milliseconds(20));
    } while (absl::Now() < deadline);
    return sent;
  }

  std::string dir_;
};

TEST_F(DnsTargetTest, ANameForTwoReplicasReadsFromBoth) {
  auto a = StartServer({});
  auto b = StartServer({});
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::string name = "dns:///replicas.test:50051";
  auto client = ClientImpl::Create(
      Options(name), ResolverFor("replicas.test", {a.get(), b.get()}));
  ASSERT_TRUE(client.ok()) << client.status();
  const std::set<std::string> want = {
      absl::StrCat(name, " (127.0.0.1:", a->data_port(), ")"),
      absl::StrCat(name, " (127.0.0.1:", b->data_port(), ")")};
  std::set<std::string> sources;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (sources.size() < 2 && absl::Now() < deadline) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ((*batch)->devices[0].Find("image")->shape[0], 32);
    sources.insert((*batch)->source);
  }
  EXPECT_EQ(sources, want);
  EXPECT_GT(BatchesSent(*a), 0);
  EXPECT_GT(BatchesSent(*b), 0);
}

TEST_F(DnsTargetTest, ARealLookupOfLocalhostReachesTheServer) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  const std::string name =
      absl::StrCat("dns:///localhost:", server->data_port());
  auto client = Client::Create(Options(name));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<const Batch*> batch = (*client)->Next();
  ASSERT_TRUE(batch.ok()) << batch.status();
  // getaddrinfo("localhost") gives 127.0.0.1 here (and ::1 where /etc/hosts
  // says so; the server listens on 127.0.0.1 only, so that stream retries).
  EXPECT_EQ((*batch)->source,
            absl::StrCat(name, " (127.0.0.1:", server->data_port(), ")"));
}

TEST_F(DnsTargetTest, TlsChecksTheCertificateAgainstTheNameNotTheIp) {
  absl::StatusOr<TestPki> pki = MakeTestPki();
  ASSERT_TRUE(pki.ok()) << pki.status();
  // The certificate carries IP:127.0.0.1 and DNS:localhost.
  auto server = StartServer({"--tls_cert_file=" + pki->server_cert,
                             "--tls_key_file=" + pki->server_key});
  ASSERT_NE(server, nullptr);
  ClientOptions o = Options("dns:///localhost:50051");
  o.tls.enabled = true;
  o.tls.ca_file = pki->ca_cert;
  o.connect_timeout = absl::Seconds(3);
  auto client = ClientImpl::Create(o, ResolverFor("localhost", {server.get()}));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Next().ok());

  // Same address, a name the certificate lacks: refused, although the
  // certificate is valid for the IP the channel connects to.
  o.targets = {"dns:///not-in-the-cert.test:50051"};
  client = ClientImpl::Create(
      o, ResolverFor("not-in-the-cert.test", {server.get()}));
  ASSERT_EQ(client.status().code(), absl::StatusCode::kUnavailable)
      << client.status();
  EXPECT_THAT(std::string(client.status().message()),
              HasSubstr("not-in-the-cert.test"))
      << client.status();
}

}  // namespace
}  // namespace inputserve::testing
