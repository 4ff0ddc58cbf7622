// Batch handles from NextShared(): a held batch keeps its bytes whatever
// comes after it (later batches, a mode flip, the client's destruction), and
// holding many never stalls prefetching. Also Client::info() and steps.
#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "tests/unit/client/client_test_util.h"
#include "tests/unit/client/fake_input_server.h"

namespace inputserve::testing {
namespace {

constexpr size_t kImageBytesPerExample = 4 * 4 * 3;
constexpr int kBatch = 8;

std::unique_ptr<Client> Connect(const FakeInputServer& fake,
                                int num_devices = 0) {
  ClientOptions o = FastOptions({fake.target()});
  o.num_devices = num_devices;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(o);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

std::shared_ptr<const Batch> Take(Client& client) {
  absl::StatusOr<std::shared_ptr<const Batch>> batch = client.NextShared();
  EXPECT_TRUE(batch.ok()) << batch.status();
  return batch.ok() ? *std::move(batch) : nullptr;
}

TEST(ClientHandleTest, HeldBatchKeepsItsBytesAcross100LaterBatches) {
  auto fake = FakeInputServer::Start({});
  ASSERT_NE(fake, nullptr);
  auto client = Connect(*fake, /*num_devices=*/2);
  ASSERT_NE(client, nullptr);
  std::shared_ptr<const Batch> kept = Take(*client);
  ASSERT_NE(kept, nullptr);
  const void* kept_data = kept->devices[0].tensors[0].data;
  for (int i = 0; i < 100; ++i) {
    std::shared_ptr<const Batch> later = Take(*client);
    ASSERT_NE(later, nullptr);
    // A later batch never reuses the memory of the held one.
    ASSERT_NE(later->devices[0].tensors[0].data, kept_data);
    ExpectBatchContents(*later, 0, later->sequence, kBatch,
                        kImageBytesPerExample);
  }
  ExpectBatchContents(*kept, 0, kept->sequence, kBatch, kImageBytesPerExample);
}

TEST(ClientHandleTest, HoldingManyHandlesNeverStallsStreaming) {
  auto fake = FakeInputServer::Start({});
  ASSERT_NE(fake, nullptr);
  auto client = Connect(*fake);
  ASSERT_NE(client, nullptr);
  // prefetch_batches is 2: hold five times as many and keep reading.
  std::vector<std::shared_ptr<const Batch>> held;
  for (int i = 0; i < 10; ++i) {
    held.push_back(Take(*client));
    ASSERT_NE(held.back(), nullptr);
  }
  for (const auto& batch : held) {
    ExpectBatchContents(*batch, 0, batch->sequence, kBatch,
                        kImageBytesPerExample);
  }
  // Sequences arrive in order from the one stream, each once.
  for (size_t i = 1; i < held.size(); ++i) {
    EXPECT_EQ(held[i]->sequence, held[i - 1]->sequence + 1);
  }
  // The streams kept their prefetch share: one slot per held batch beyond
  // the reader's one, plus the three the client started with.
  EXPECT_EQ(client->stats().pool_slots, 3u + held.size() - 1);
  held.clear();
  // Released slots are reused: the pool stops growing once nothing is held.
  const uint64_t slots = client->stats().pool_slots;
  for (int i = 0; i < 50; ++i) ASSERT_NE(Take(*client), nullptr);
  EXPECT_EQ(client->stats().pool_slots, slots);
}

TEST(ClientHandleTest, HandleOutlivesTheClient) {
  auto fake = FakeInputServer::Start({});
  ASSERT_NE(fake, nullptr);
  auto client = Connect(*fake, /*num_devices=*/4);
  ASSERT_NE(client, nullptr);
  std::shared_ptr<const Batch> kept = Take(*client);
  ASSERT_NE(kept, nullptr);
  client.reset();
  ExpectBatchContents(*kept, 0, kept->sequence, kBatch, kImageBytesPerExample);
}

TEST(ClientHandleTest, StepsCountEveryReturnedBatch) {
  auto fake = FakeInputServer::Start({});
  ASSERT_NE(fake, nullptr);
  auto client = Connect(*fake);
  ASSERT_NE(client, nullptr);
  for (uint64_t step = 0; step < 3; ++step) {
    std::shared_ptr<const Batch> batch = Take(*client);
    ASSERT_NE(batch, nullptr);
    EXPECT_EQ(batch->step, step);
  }
  absl::StatusOr<const Batch*> next = client->Next();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)->step, 3u);
}

TEST(ClientHandleTest, SyntheticHandlesShareTheCacheAndSurviveTheFlipBack) {
  FakeServerOptions fo;
  fo.mode = v1::MODE_SYNTHETIC;
  auto fake = FakeInputServer::Start(fo);
  ASSERT_NE(fake, nullptr);
  auto client = Connect(*fake, /*num_devices=*/2);
  ASSERT_NE(client, nullptr);
  std::shared_ptr<const Batch> first = Take(*client);
  std::shared_ptr<const Batch> second = Take(*client);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(first->from_cache);
  EXPECT_EQ(second->step, first->step + 1);
  // One device copy: both handles point at it.
  EXPECT_EQ(first->devices[1].tensors[0].data,
            second->devices[1].tensors[0].data);
  EXPECT_EQ(client->stats().synthetic_uploads, 1u);

  fake->SetMode(v1::MODE_REAL);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::shared_ptr<const Batch> real;
  while (absl::Now() < deadline) {
    real = Take(*client);
    ASSERT_NE(real, nullptr);
    if (!real->from_cache) break;
  }
  ASSERT_FALSE(real->from_cache) << "still synthetic after 10s";
  // The cache is gone from the client but the held handles keep it.
  ExpectBatchContents(*first, 0, 0, kBatch, kImageBytesPerExample,
                      /*slice_zero=*/true);
}

TEST(ClientHandleTest, TryNextSharedWaitsInSlicesUntilUnavailableTimeout) {
  auto fake = FakeInputServer::Start({});
  ASSERT_NE(fake, nullptr);
  ClientOptions o = FastOptions({fake->target()});
  o.unavailable_timeout = absl::Seconds(1);
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<std::shared_ptr<const Batch>> first =
      (*client)->TryNextShared(absl::Seconds(5));
  ASSERT_TRUE(first.ok()) << first.status();
  fake->Shutdown();
  // Drain whatever was prefetched before the server went away.
  const absl::Time start = absl::Now();
  int slices = 0;
  absl::Status last;
  while (absl::Now() - start < absl::Seconds(20)) {
    absl::StatusOr<std::shared_ptr<const Batch>> next =
        (*client)->TryNextShared(absl::Milliseconds(50));
    if (next.ok()) continue;
    last = next.status();
    if (last.code() != absl::StatusCode::kDeadlineExceeded) break;
    ++slices;
  }
  // Slices ran out first; unavailable_timeout then ends the wait as a
  // single blocking call would.
  EXPECT_GE(slices, 3);
  EXPECT_EQ(last.code(), absl::StatusCode::kUnavailable) << last;
  EXPECT_NE(last.message().find("within 1s"), std::string::npos) << last;
}

TEST(ClientHandleTest, InfoDescribesTheServersDataset) {
  FakeServerOptions a;
  a.server_id = 0;
  a.shard_index = 0;
  a.num_shards = 2;
  a.examples_per_epoch = 40;
  FakeServerOptions twin = a;  // A second replica of shard 0.
  twin.server_id = 1;
  FakeServerOptions b = a;
  b.server_id = 2;
  b.shard_index = 1;
  b.examples_per_epoch = 48;
  auto fa = FakeInputServer::Start(a);
  auto ft = FakeInputServer::Start(twin);
  auto fb = FakeInputServer::Start(b);
  ASSERT_TRUE(fa && ft && fb);
  ClientOptions o = FastOptions({fa->target(), ft->target(), fb->target()});
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  const DatasetInfo& info = (*client)->info();
  EXPECT_EQ(info.dataset, "fake");
  EXPECT_EQ(info.batch_size, kBatch);
  ASSERT_EQ(info.tensors.size(), 2u);
  EXPECT_EQ(info.tensors[0].name, "image");
  EXPECT_EQ(info.tensors[0].dtype, ElementType::kUint8);
  EXPECT_EQ(info.tensors[0].shape, (std::vector<int64_t>{kBatch, 4, 4, 3}));
  EXPECT_EQ(info.tensors[1].dtype, ElementType::kInt32);
  EXPECT_EQ(info.num_classes, 3);
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"cat", "dog", "emu"}));
  ASSERT_EQ(info.shards.size(), 3u);
  EXPECT_EQ(info.shards[2].target, fb->target());
  EXPECT_EQ(info.shards[2].shard_index, 1u);
  EXPECT_EQ(info.shards[2].examples_per_epoch, 48u);
  // Replicas of one shard count once.
  EXPECT_EQ(info.examples_per_epoch, 40u + 48u);
}

}  // namespace
}  // namespace inputserve::testing
