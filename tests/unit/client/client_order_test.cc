// The deterministic order on the client, against fake servers that speak
// it: steps in plan order across shards, start_step, the end of the epochs,
// short batches and their device split, failover to a twin or to a replica
// restarted on its port, re-asking after a broken stream, the synthetic
// cache, and the checks Create() makes.
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/data_order.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/client/client_test_util.h"
#include "tests/unit/client/fake_input_server.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kBatch = 8;
// Batches of ~100 KB, so gRPC's buffers hold only a few of them.
constexpr int kSide = 64;
constexpr size_t kImageBytesPerExample = kSide * kSide * 3;

FakeServerOptions Shard(uint32_t index, uint32_t count, uint64_t examples) {
  FakeServerOptions o;
  o.deterministic = true;
  o.batch_size = kBatch;
  o.height = kSide;
  o.width = kSide;
  o.chunk_bytes = 16384;
  o.shard_index = index;
  o.num_shards = count;
  o.examples_per_epoch = examples;
  return o;
}

ClientOptions Ordered(std::vector<std::string> targets) {
  ClientOptions o = FastOptions(std::move(targets));
  o.ordering = Ordering::kDeterministic;
  return o;
}

RankPlan Plan(std::vector<uint64_t> examples, uint32_t rank = 0,
              uint32_t world = 1, bool drop = true) {
  absl::StatusOr<RankPlan> plan =
      RankPlan::Create({kBatch, std::move(examples)}, rank, world, drop);
  EXPECT_TRUE(plan.ok()) << plan.status();
  return *std::move(plan);
}

// Checks that `batch` is step `step` of `plan`: step, epoch, and on every
// device its share of the planned batch's examples (the first n % D devices
// one more), with the fake's contents for that shard, epoch and index.
void ExpectStep(const Batch& batch, const RankPlan& plan, uint64_t step) {
  const PlannedBatch want = plan.At(step);
  ASSERT_EQ(batch.step, step);
  EXPECT_EQ(batch.epoch, want.epoch);
  EXPECT_EQ(batch.mode, BatchMode::kReal);
  const int id = static_cast<int>(want.shard);
  const uint64_t sequence =
      FakeInputServer::OrderSequence(want.epoch, want.index);
  const int slices = static_cast<int>(batch.devices.size());
  const int n = static_cast<int>(want.size);
  int first = 0;
  for (int d = 0; d < slices; ++d) {
    const int rows = n / slices + (d < n % slices ? 1 : 0);
    const TensorView* image = batch.devices[d].Find("image");
    const TensorView* label = batch.devices[d].Find("label");
    ASSERT_NE(image, nullptr);
    ASSERT_NE(label, nullptr);
    ASSERT_EQ(image->shape[0], rows) << "step " << step << " device " << d;
    ASSERT_EQ(label->shape[0], rows);
    ASSERT_EQ(image->num_bytes, rows * kImageBytesPerExample);
    ASSERT_EQ(label->num_bytes, rows * sizeof(int32_t));
    const uint8_t* pixels = static_cast<const uint8_t*>(image->data);
    for (size_t i = 0; i < image->num_bytes; ++i) {
      ASSERT_EQ(pixels[i], FakeInputServer::ImageByte(
                               id, sequence, first * kImageBytesPerExample + i))
          << "step " << step << " device " << d << " byte " << i;
    }
    for (int e = 0; e < rows; ++e) {
      int32_t value;
      std::memcpy(&value, static_cast<const uint8_t*>(label->data) + 4 * e, 4);
      ASSERT_EQ(value, FakeInputServer::Label(id, sequence, first + e))
          << "step " << step << " device " << d << " example " << e;
    }
    first += rows;
  }
}

// Reads and checks steps from `*next` on until `done` (checked before each
// step) or 2000 steps; false when `done` never came.
bool ReadUntil(Client& client, const RankPlan& plan, uint64_t* next,
               const std::function<bool()>& done) {
  for (int i = 0; i < 2000; ++i) {
    if (done()) return true;
    absl::StatusOr<const Batch*> batch = client.Next();
    EXPECT_TRUE(batch.ok()) << "step " << *next << ": " << batch.status();
    if (!batch.ok()) return false;
    ExpectStep(**batch, plan, (*next)++);
    if (::testing::Test::HasFatalFailure()) return false;
  }
  return done();
}

// Reads steps [from, to) and checks each one.
void ExpectSteps(Client& client, const RankPlan& plan, uint64_t from,
                 uint64_t to) {
  for (uint64_t t = from; t < to; ++t) {
    absl::StatusOr<const Batch*> batch = client.Next();
    ASSERT_TRUE(batch.ok()) << "step " << t << ": " << batch.status();
    ExpectStep(**batch, plan, t);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(ClientOrderTest, StepsFollowThePlanAcrossShardsAndEndAfterTheEpochs) {
  // 10, 10 and 6 batches per epoch: the round-robin interleave is uneven.
  const std::vector<uint64_t> examples = {80, 84, 50};
  std::vector<std::unique_ptr<FakeInputServer>> fakes;
  std::vector<std::string> targets;
  for (uint32_t s = 0; s < 3; ++s) {
    fakes.push_back(FakeInputServer::Start(Shard(s, 3, examples[s])));
    ASSERT_NE(fakes.back(), nullptr);
    targets.push_back(fakes.back()->target());
  }
  ClientOptions o = Ordered(targets);
  o.num_epochs = 2;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  const RankPlan plan = Plan(examples);
  ASSERT_EQ(plan.steps_per_epoch(), 26u);
  ExpectSteps(**client, plan, 0, 52);
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<const Batch*> end = (*client)->Next();
    EXPECT_THAT(end.status(), StatusIs(absl::StatusCode::kOutOfRange,
                                       HasSubstr("2 epoch(s)")));
  }
  // Every shard got one request, with the end of the epochs.
  for (const auto& fake : fakes) {
    const auto requests = fake->deterministic_requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].end_step(), 52u);
    EXPECT_EQ(requests[0].batch_size(), static_cast<uint32_t>(kBatch));
    EXPECT_EQ(requests[0].shard_examples_size(), 3);
  }
}

TEST(ClientOrderTest, StartStepResumesWhereTheRankLeftOff) {
  const std::vector<uint64_t> examples = {80, 80};
  auto a = FakeInputServer::Start(Shard(0, 2, 80));
  auto b = FakeInputServer::Start(Shard(1, 2, 80));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ClientOptions o = Ordered({a->target(), b->target()});
  o.rank = 1;
  o.world_size = 3;
  o.start_step = 7;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  const RankPlan plan = Plan(examples, 1, 3);
  ExpectSteps(**client, plan, 7, 20);
  // Each shard was asked from this rank's first step on it at or after 7.
  EXPECT_EQ(a->deterministic_requests().at(0).start_step(),
            *plan.NextStepOnShard(0, 7));
  EXPECT_EQ(b->deterministic_requests().at(0).start_step(),
            *plan.NextStepOnShard(1, 7));
  EXPECT_EQ(a->deterministic_requests().at(0).rank(), 1u);
  EXPECT_EQ(a->deterministic_requests().at(0).world_size(), 3u);
}

TEST(ClientOrderTest, ShortLastBatchesSplitUnevenlyOverDevices) {
  // 21 examples: batches of 8, 8 and 5 per epoch.
  auto fake = FakeInputServer::Start(Shard(0, 1, 21));
  ASSERT_NE(fake, nullptr);
  for (int devices : {0, 4}) {
    SCOPED_TRACE(devices);
    ClientOptions o = Ordered({fake->target()});
    o.drop_remainder = false;
    o.num_epochs = 2;
    o.num_devices = devices;
    auto client = Client::Create(o);
    ASSERT_TRUE(client.ok()) << client.status();
    const RankPlan plan = Plan({21}, 0, 1, /*drop=*/false);
    ASSERT_EQ(plan.At(2).size, 5u);
    // With 4 devices the short batch is split 2, 1, 1, 1.
    ExpectSteps(**client, plan, 0, 6);
    EXPECT_THAT((*client)->Next().status(),
                StatusIs(absl::StatusCode::kOutOfRange));
    EXPECT_FALSE(fake->deterministic_requests().back().drop_remainder());
  }
}

TEST(ClientOrderTest, DropRemainderLeavesTheShortBatchOut) {
  auto fake = FakeInputServer::Start(Shard(0, 1, 21));
  ASSERT_NE(fake, nullptr);
  ClientOptions o = Ordered({fake->target()});
  o.num_epochs = 1;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  ExpectSteps(**client, Plan({21}), 0, 2);
  EXPECT_THAT((*client)->Next().status(),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(ClientOrderTest, StartStepAtTheEndIsOutOfRangeAtOnce) {
  auto fake = FakeInputServer::Start(Shard(0, 1, 80));
  ASSERT_NE(fake, nullptr);
  ClientOptions o = Ordered({fake->target()});
  o.num_epochs = 1;
  o.start_step = 10;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_THAT((*client)->Next().status(),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(ClientOrderTest, BrokenStreamsAreAskedAgainFromTheFirstMissingStep) {
  // Every call breaks in the middle of its fourth batch.
  FakeServerOptions shard0 = Shard(0, 2, 80);
  shard0.break_after = 3;
  FakeServerOptions shard1 = Shard(1, 2, 80);
  shard1.break_after = 3;
  auto a = FakeInputServer::Start(shard0);
  auto b = FakeInputServer::Start(shard1);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto client = Client::Create(Ordered({a->target(), b->target()}));
  ASSERT_TRUE(client.ok()) << client.status();
  const RankPlan plan = Plan({80, 80});
  ExpectSteps(**client, plan, 0, 30);
  EXPECT_GT((*client)->stats().reconnects, 0u);
  // Each call after the first starts at the step the one before broke on:
  // three batches later on that shard.
  for (const auto* fake : {a.get(), b.get()}) {
    const auto requests = fake->deterministic_requests();
    ASSERT_GE(requests.size(), 3u);
    const uint32_t shard = fake == a.get() ? 0 : 1;
    for (size_t i = 1; i < requests.size(); ++i) {
      uint64_t want = requests[i - 1].start_step();
      for (int k = 0; k < 3; ++k) want = *plan.NextStepOnShard(shard, want + 1);
      EXPECT_EQ(requests[i].start_step(), want) << "request " << i;
    }
  }
}

TEST(ClientOrderTest, FailsOverToATwinWithNothingLostOrRepeated) {
  FakeServerOptions first = Shard(0, 2, 160);
  first.server_id = 1;
  FakeServerOptions twin = Shard(0, 2, 160);
  twin.server_id = 2;
  auto a = FakeInputServer::Start(first);
  auto a_twin = FakeInputServer::Start(twin);
  auto b = FakeInputServer::Start(Shard(1, 2, 160));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(a_twin, nullptr);
  ASSERT_NE(b, nullptr);
  ClientOptions o = Ordered({a->target(), a_twin->target(), b->target()});
  o.prefetch_batches = 1;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  const RankPlan plan = Plan({160, 160});
  ExpectSteps(**client, plan, 0, 6);
  // Shard 0 streams from the first replica listed; the twin is idle.
  EXPECT_EQ(a->deterministic_requests().size(), 1u);
  EXPECT_TRUE(a_twin->deterministic_requests().empty());
  a->Shutdown();
  // Steps gRPC had buffered from the first replica come first; then the
  // twin is asked for the first step still missing.
  uint64_t next = 6;
  ASSERT_TRUE(ReadUntil(**client, plan, &next, [&] {
    return !a_twin->deterministic_requests().empty();
  }));
  ExpectSteps(**client, plan, next, next + 30);
  const auto requests = a_twin->deterministic_requests();
  EXPECT_GT(requests[0].start_step(), 6u);
  EXPECT_GE(requests[0].start_step(), next - 1);
}

TEST(ClientOrderTest, WaitsForAReplicaRestartedOnItsPort) {
  auto a = FakeInputServer::Start(Shard(0, 2, 160));
  auto b = FakeInputServer::Start(Shard(1, 2, 160));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ClientOptions o = Ordered({a->target(), b->target()});
  o.prefetch_batches = 1;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  const RankPlan plan = Plan({160, 160});
  ExpectSteps(**client, plan, 0, 5);
  const int port = a->port();
  a->Shutdown();
  a.reset();
  FakeServerOptions again = Shard(0, 2, 160);
  again.port = port;
  a = FakeInputServer::Start(again);
  ASSERT_NE(a, nullptr);
  uint64_t next = 5;
  ASSERT_TRUE(ReadUntil(**client, plan, &next,
                        [&] { return !a->deterministic_requests().empty(); }));
  ExpectSteps(**client, plan, next, next + 30);
  EXPECT_GT(a->deterministic_requests()[0].start_step(), 4u);
}

TEST(ClientOrderTest, SyntheticCacheKeepsTheStepAndTheOrderResumesExactly) {
  auto a = FakeInputServer::Start(Shard(0, 2, 80));
  auto b = FakeInputServer::Start(Shard(1, 2, 80));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto client = Client::Create(Ordered({a->target(), b->target()}));
  ASSERT_TRUE(client.ok()) << client.status();
  const RankPlan plan = Plan({80, 80});
  ExpectSteps(**client, plan, 0, 4);
  a->SetMode(v1::MODE_SYNTHETIC);
  b->SetMode(v1::MODE_SYNTHETIC);
  // Real steps received before the flip still come first, in order.
  uint64_t next = 4;
  const Batch* cached = nullptr;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (cached == nullptr && absl::Now() < deadline) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    if ((*batch)->from_cache) {
      cached = *batch;
    } else {
      ExpectStep(**batch, plan, next++);
    }
  }
  ASSERT_NE(cached, nullptr);
  // Cache batches stand in for the next real step and do not take it.
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_TRUE((*batch)->from_cache);
    EXPECT_EQ((*batch)->step, next);
    EXPECT_EQ((*batch)->epoch, plan.At(next).epoch);
  }
  a->SetMode(v1::MODE_REAL);
  b->SetMode(v1::MODE_REAL);
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<std::shared_ptr<const Batch>> batch =
            (*client)->NextShared();
        if (!batch.ok() || (*batch)->from_cache) return false;
        ExpectStep(**batch, plan, next);
        return true;
      },
      absl::Seconds(10)));
  ExpectSteps(**client, plan, next + 1, next + 20);
}

TEST(ClientOrderTest, CreateRefusesServersThatCannotServeTheOrder) {
  auto arrival_only = FakeInputServer::Start({});
  ASSERT_NE(arrival_only, nullptr);
  auto s = Client::Create(Ordered({arrival_only->target()}));
  EXPECT_THAT(s.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                   HasSubstr(arrival_only->target())));

  auto a = FakeInputServer::Start(Shard(0, 2, 80));
  auto three = FakeInputServer::Start(Shard(1, 3, 80));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(three, nullptr);
  s = Client::Create(Ordered({a->target(), three->target()}));
  EXPECT_THAT(s.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                   HasSubstr("shard count")));

  FakeServerOptions other = Shard(0, 2, 80);
  other.order_fingerprint = 7;
  auto different = FakeInputServer::Start(other);
  ASSERT_NE(different, nullptr);
  s = Client::Create(Ordered({a->target(), different->target()}));
  EXPECT_THAT(s.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                   HasSubstr("replicas of shard 0 differ")));

  // Shard 1 of 2 has no replica that answers.
  ClientOptions o = Ordered({a->target()});
  o.connect_timeout = absl::Seconds(1);
  s = Client::Create(o);
  EXPECT_THAT(s.status(), StatusIs(absl::StatusCode::kUnavailable,
                                   HasSubstr("shard(s) 1 of 2")));

  // 10 batches per epoch cannot feed 11 ranks.
  auto one = FakeInputServer::Start(Shard(0, 1, 80));
  ASSERT_NE(one, nullptr);
  o = Ordered({one->target()});
  o.rank = 10;
  o.world_size = 11;
  s = Client::Create(o);
  EXPECT_THAT(s.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                   HasSubstr("world_size 11")));
}

TEST(ClientOrderTest, ArrivalOptionsOfTheDeterministicOrderAreRefused) {
  ClientOptions o = FastOptions({"127.0.0.1:1"});
  o.start_step = 3;
  EXPECT_THAT(
      Client::Create(o).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start_step")));
}

}  // namespace
}  // namespace inputserve::testing
