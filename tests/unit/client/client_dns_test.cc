// The client with dns:/// targets against in-process fake servers, through
// the internal resolver seam: a name stands for every address it resolves
// to, and periodic re-resolution adds and retires addresses.
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/client_impl.h"
#include "gtest/gtest.h"
#include "tests/unit/client/client_test_util.h"
#include "tests/unit/client/fake_input_server.h"

namespace inputserve::testing {
namespace {

using client_internal::ClientImpl;
using client_internal::Resolver;

constexpr char kName[] = "dns:///replicas.test:50051";

// What "replicas.test" resolves to; changed by the test while the client's
// refresher reads it.
class FakeDns {
 public:
  void Set(absl::StatusOr<std::vector<std::string>> answer) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(answer);
  }
  int lookups() const {
    absl::MutexLock lock(&mu_);
    return lookups_;
  }
  Resolver resolver() {
    return [this](const std::string& host, const std::string& port)
               -> absl::StatusOr<std::vector<std::string>> {
      absl::MutexLock lock(&mu_);
      ++lookups_;
      if (host != "replicas.test" || port != "50051") {
        return absl::UnavailableError("unknown name " + host);
      }
      return answer_;
    };
  }

 private:
  mutable absl::Mutex mu_;
  absl::StatusOr<std::vector<std::string>> answer_ ABSL_GUARDED_BY(mu_);
  int lookups_ ABSL_GUARDED_BY(mu_) = 0;
};

std::string Address(const FakeInputServer& fake) {
  return "ipv4:" + fake.target();
}

std::string SourceOf(const FakeInputServer& fake) {
  return std::string(kName) + " (" + fake.target() + ")";
}

// Calls Next() (so slots keep flowing) until `done` or 10 s pass; returns
// the sources seen.
template <typename Done>
std::set<std::string> NextUntil(Client& client, Done done) {
  std::set<std::string> sources;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done(sources) && absl::Now() < deadline) {
    absl::StatusOr<const Batch*> batch = client.Next();
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok()) break;
    sources.insert((*batch)->source);
  }
  return sources;
}

std::vector<std::unique_ptr<FakeInputServer>> StartFakes(int n) {
  std::vector<std::unique_ptr<FakeInputServer>> fakes;
  for (int i = 0; i < n; ++i) {
    FakeServerOptions o;
    o.server_id = i + 1;
    fakes.push_back(FakeInputServer::Start(o));
    EXPECT_NE(fakes.back(), nullptr);
  }
  return fakes;
}

// Waits up to 10 s for `n` more lookups than `since`: the refresher has
// then seen whatever the fake DNS answers now.
bool WaitForLookups(const FakeDns& dns, int since, int n) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (dns.lookups() < since + n) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

void WaitForStreams(const FakeInputServer& fake, int n) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (fake.active_streams() != n && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
}

TEST(ClientDnsTest, ANameStreamsFromEveryAddressItResolvesTo) {
  auto fakes = StartFakes(3);
  FakeDns dns;
  dns.Set(std::vector<std::string>{Address(*fakes[0]), Address(*fakes[1]),
                                   Address(*fakes[2])});
  ClientOptions o = FastOptions({kName});
  o.connections_per_target = 2;
  o.prefetch_batches = 6;
  o.dns_refresh = absl::ZeroDuration();
  auto client = ClientImpl::Create(o, dns.resolver());
  ASSERT_TRUE(client.ok()) << client.status();
  for (const auto& fake : fakes) {
    WaitForStreams(*fake, 2);
    EXPECT_EQ(fake->active_streams(), 2) << fake->target();
  }
  const std::set<std::string> sources = NextUntil(
      **client, [](const std::set<std::string>& s) { return s.size() >= 3; });
  EXPECT_EQ(sources,
            (std::set<std::string>{SourceOf(*fakes[0]), SourceOf(*fakes[1]),
                                   SourceOf(*fakes[2])}));
  EXPECT_EQ(dns.lookups(), 1);  // dns_refresh = 0: Create only.
}

TEST(ClientDnsTest, CreateIsUnavailableNamingANameThatDoesNotResolve) {
  FakeDns dns;
  dns.Set(absl::UnavailableError("cannot resolve 'replicas.test'"));
  auto client = ClientImpl::Create(FastOptions({kName}), dns.resolver());
  ASSERT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find(kName), std::string::npos)
      << client.status();
  dns.Set(std::vector<std::string>{});
  client = ClientImpl::Create(FastOptions({kName}), dns.resolver());
  ASSERT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find("no address"), std::string::npos)
      << client.status();
  // The real resolver, through the public API (.invalid never resolves).
  client = Client::Create(FastOptions({"dns:///no-such-host.invalid:50051"}));
  ASSERT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find("no-such-host.invalid"),
            std::string::npos)
      << client.status();
}

TEST(ClientDnsTest, RefreshAddsNewAddressesAndRetiresVanishedOnes) {
  auto fakes = StartFakes(2);
  FakeInputServer& a = *fakes[0];
  FakeInputServer& b = *fakes[1];
  FakeDns dns;
  dns.Set(std::vector<std::string>{Address(a)});
  ClientOptions o = FastOptions({kName, b.target()});
  // b is also listed directly: a refresh must leave other targets alone.
  o.dns_refresh = absl::Milliseconds(50);
  auto client = ClientImpl::Create(o, dns.resolver());
  ASSERT_TRUE(client.ok()) << client.status();
  WaitForStreams(b, 1);
  ASSERT_EQ(b.active_streams(), 1);

  // b appears in DNS (a replica back with a new IP): a second stream to it.
  dns.Set(std::vector<std::string>{Address(a), Address(b)});
  std::set<std::string> sources =
      NextUntil(**client, [&b](const std::set<std::string>& s) {
        return s.count(SourceOf(b)) > 0;
      });
  EXPECT_EQ(sources.count(SourceOf(b)), 1u);
  EXPECT_EQ(b.active_streams(), 2);
  EXPECT_EQ(a.active_streams(), 1);

  // A failed lookup keeps every address.
  dns.Set(absl::UnavailableError("DNS is down"));
  ASSERT_TRUE(WaitForLookups(dns, dns.lookups(), 3));
  EXPECT_EQ(a.active_streams(), 1);
  EXPECT_EQ(b.active_streams(), 2);

  // a vanishes from DNS: its stream is cancelled and nothing more comes
  // from it once the batches already received are consumed.
  const int cancelled_before = a.cancelled_streams();
  dns.Set(std::vector<std::string>{Address(b)});
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (a.active_streams() > 0 && absl::Now() < deadline) {
    ASSERT_TRUE((*client)->Next().ok());
  }
  EXPECT_EQ(a.active_streams(), 0);
  EXPECT_GT(a.cancelled_streams(), cancelled_before);
  const uint64_t sent_by_a = a.batches_sent();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*client)->Next().ok());
  sources = NextUntil(
      **client, [](const std::set<std::string>& s) { return s.size() >= 2; });
  EXPECT_EQ(sources, (std::set<std::string>{SourceOf(b), b.target()}));
  EXPECT_EQ(a.batches_sent(), sent_by_a);
  EXPECT_EQ(a.active_streams(), 0);
}

TEST(ClientDnsTest, AnAddressAddedDuringTheSyntheticCacheStaysClosed) {
  FakeServerOptions so;
  so.mode = v1::MODE_SYNTHETIC;
  so.server_id = 1;
  auto a = FakeInputServer::Start(so);
  so.server_id = 2;
  auto b = FakeInputServer::Start(so);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  FakeDns dns;
  dns.Set(std::vector<std::string>{Address(*a)});
  ClientOptions o = FastOptions({kName});
  o.dns_refresh = absl::Milliseconds(20);
  auto client = ClientImpl::Create(o, dns.resolver());
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<const Batch*> cached = (*client)->Next();
  ASSERT_TRUE(cached.ok()) << cached.status();
  ASSERT_TRUE((*cached)->from_cache);
  WaitForStreams(*a, 0);

  // b shows up while Next() serves the cache: no data stream may open.
  dns.Set(std::vector<std::string>{Address(*a), Address(*b)});
  ASSERT_TRUE(WaitForLookups(dns, dns.lookups(), 3));
  // Nothing may open: a short grace lets a wrongly opened stream show itself.
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(b->streams_opened(), 0);
  EXPECT_EQ(a->active_streams(), 0);
  absl::StatusOr<const Batch*> still = (*client)->Next();
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(*still, *cached);

  // Both back to real: the client leaves the cache and reads from both.
  a->SetMode(v1::MODE_REAL);
  b->SetMode(v1::MODE_REAL);
  const std::set<std::string> sources =
      NextUntil(**client, [&](const std::set<std::string>& s) {
        return s.count(SourceOf(*a)) > 0 && s.count(SourceOf(*b)) > 0;
      });
  EXPECT_EQ(sources.count(SourceOf(*b)), 1u);
  EXPECT_EQ(sources.count(SourceOf(*a)), 1u);
}

TEST(ClientDnsTest, DestroysCleanlyWhileRefreshing) {
  auto fakes = StartFakes(2);
  FakeDns dns;
  dns.Set(std::vector<std::string>{Address(*fakes[0])});
  ClientOptions o = FastOptions({kName});
  o.dns_refresh = absl::Milliseconds(1);
  for (int i = 0; i < 5; ++i) {
    auto client = ClientImpl::Create(o, dns.resolver());
    ASSERT_TRUE(client.ok()) << client.status();
    // Flip between the two addresses while the client streams.
    dns.Set(std::vector<std::string>{Address(*fakes[(i + 1) % 2])});
    if (i % 2 == 0) {
      ASSERT_TRUE((*client)->Next().ok());
    }
    absl::SleepFor(absl::Milliseconds(20));
    dns.Set(std::vector<std::string>{Address(*fakes[0])});
  }
  for (const auto& fake : fakes) {
    WaitForStreams(*fake, 0);
    EXPECT_EQ(fake->active_streams(), 0);
  }
}

}  // namespace
}  // namespace inputserve::testing
