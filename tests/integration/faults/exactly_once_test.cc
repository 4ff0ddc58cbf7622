// Without faults, three sharded replicas and two consumers (data-parallel
// ranks, each a Client over all three targets) see the dataset exactly once
// per epoch: every example of the CIFAR files, identified by the hash of its
// image bytes, appears in epoch 0 once across both consumers.
//
// Batches may straddle epochs (the header's epoch is that of the batch's
// first example), so the position of each example in its replica's stream is
// sequence * batch_size + index, and its epoch is position /
// examples_per_epoch.
#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "tests/integration/faults/replica_set.h"

namespace inputserve::testing {
namespace {

constexpr int kReplicas = 3;
constexpr int kConsumers = 2;
constexpr int kExamples = 300;  // 5 files of 60: shards of 120, 120 and 60.

struct Delivered {
  BatchRecord batch;
  int consumer = 0;
};

struct LedgerData {
  // replica target -> sequence -> the one delivery of that batch.
  std::map<std::string, std::map<uint64_t, Delivered>> received;
  std::map<int, int> per_consumer;  // consumer -> batches
  int duplicates = 0;               // (replica, sequence) seen twice
};

// What both consumers received. Thread-safe: each consumer thread adds.
class Ledger {
 public:
  explicit Ledger(std::map<std::string, uint64_t> batches_per_epoch)
      : needed_(std::move(batches_per_epoch)) {}

  // Returns true once every replica's first epoch is complete.
  bool Add(Delivered d) {
    absl::MutexLock lock(&mu_);
    auto& by_seq = data_.received[d.batch.source];
    const int consumer = d.consumer;
    if (!by_seq.emplace(d.batch.sequence, std::move(d)).second) {
      ++data_.duplicates;
    }
    ++data_.per_consumer[consumer];
    return CompleteLocked();
  }
  bool Complete() {
    absl::MutexLock lock(&mu_);
    return CompleteLocked();
  }
  LedgerData Snapshot() {
    absl::MutexLock lock(&mu_);
    return data_;
  }

 private:
  bool CompleteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [source, n] : needed_) {
      auto it = data_.received.find(source);
      if (it == data_.received.end()) return false;
      for (uint64_t s = 0; s < n; ++s) {
        if (it->second.count(s) == 0) return false;
      }
    }
    return true;
  }

  const std::map<std::string, uint64_t> needed_;
  absl::Mutex mu_;
  LedgerData data_ ABSL_GUARDED_BY(mu_);
};

class ExactlyOnceTest : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<CifarDataset> d = GenerateCifar(kExamples, /*seed=*/23);
    ASSERT_TRUE(d.ok()) << d.status();
    dataset_ = new CifarDataset(*std::move(d));
  }
  static void TearDownTestSuite() { delete dataset_; }
  static CifarDataset* dataset_;
};
CifarDataset* ExactlyOnceTest::dataset_ = nullptr;

TEST_P(ExactlyOnceTest, UnionOverConsumersIsTheDatasetOncePerEpoch) {
  const int batch_size = GetParam();
  std::vector<uint64_t> expected = dataset_->image_hashes;
  ASSERT_EQ(expected.size(), static_cast<size_t>(kExamples));
  std::sort(expected.begin(), expected.end());
  ASSERT_TRUE(std::adjacent_find(expected.begin(), expected.end()) ==
              expected.end())
      << "datagen wrote two identical images: hashes cannot identify examples";

  ReplicaSet replicas(dataset_->dir, kReplicas,
                      {absl::StrCat("--batch_size=", batch_size),
                       "--chunk_bytes=16384", "--prefetch_batches=2"});
  ASSERT_TRUE(replicas.StartAll().ok());
  std::map<std::string, uint64_t> epoch_size, batches_per_epoch;
  uint64_t total = 0;
  for (int i = 0; i < kReplicas; ++i) {
    absl::StatusOr<uint64_t> n = replicas.ExamplesPerEpoch(i);
    ASSERT_TRUE(n.ok()) << n.status();
    epoch_size[replicas.targets()[i]] = *n;
    batches_per_epoch[replicas.targets()[i]] =
        (*n + batch_size - 1) / batch_size;
    total += *n;
  }
  ASSERT_EQ(total, static_cast<uint64_t>(kExamples))
      << "the shards do not add up to the dataset";

  Ledger ledger(batches_per_epoch);
  std::vector<std::unique_ptr<Client>> clients;
  for (int c = 0; c < kConsumers; ++c) {
    ClientOptions o;
    o.targets = replicas.targets();
    o.device_kind = DeviceKind::kHost;
    o.consumer_id = absl::StrCat("rank-", c);
    o.unavailable_timeout = absl::Seconds(15);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(o);
    ASSERT_TRUE(client.ok()) << client.status();
    clients.push_back(*std::move(client));
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  std::vector<absl::Status> errors(kConsumers);
  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      while (!ledger.Complete() && absl::Now() < deadline) {
        absl::StatusOr<const Batch*> batch = clients[c]->Next();
        if (!batch.ok()) {
          errors[c] = batch.status();
          return;
        }
        if (ledger.Add({Record(**batch), c})) return;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& e : errors) ASSERT_TRUE(e.ok()) << e;
  ASSERT_TRUE(ledger.Complete()) << "the first epoch did not finish in 60s";
  LedgerData data = ledger.Snapshot();
  EXPECT_EQ(data.duplicates, 0) << "a batch reached two consumers";

  std::vector<uint64_t> epoch0;
  for (const auto& [source, by_seq] : data.received) {
    const uint64_t n = epoch_size[source];
    for (const auto& [seq, d] : by_seq) {
      if (seq >= batches_per_epoch[source]) continue;
      ASSERT_EQ(d.batch.image_hashes.size(), static_cast<size_t>(batch_size));
      EXPECT_EQ(d.batch.epoch, seq * batch_size / n)
          << source << " sequence " << seq;
      for (int i = 0; i < batch_size; ++i) {
        const uint64_t position = seq * batch_size + i;
        if (position < n) {
          epoch0.push_back(d.batch.image_hashes[i]);
          continue;
        }
        // The tail of a straddling batch starts epoch 1 in the same order
        // (no shuffling): it repeats the replica's first examples.
        const uint64_t again = position - n;
        const Delivered& first = by_seq.at(again / batch_size);
        EXPECT_EQ(d.batch.image_hashes[i],
                  first.batch.image_hashes[again % batch_size])
            << source << " position " << position;
      }
    }
  }
  std::sort(epoch0.begin(), epoch0.end());
  EXPECT_EQ(epoch0.size(), expected.size());
  EXPECT_TRUE(epoch0 == expected)
      << "epoch 0 over all replicas and consumers is not the dataset once";
  for (int c = 0; c < kConsumers; ++c) {
    EXPECT_GT(data.per_consumer[c], 0) << "consumer " << c << " got nothing";
  }
  std::cout << "[faults] exactly-once batch_size=" << batch_size << ": "
            << data.per_consumer[0] << " + " << data.per_consumer[1]
            << " batches, " << epoch0.size() << " distinct examples in epoch 0"
            << std::endl;
}

// 20 divides every shard (120, 120, 60); 25 and 7 make batches straddle
// epochs on every replica.
INSTANTIATE_TEST_SUITE_P(BatchSizes, ExactlyOnceTest,
                         ::testing::Values(20, 25, 7), [](const auto& info) {
                           return absl::StrCat("batch", info.param);
                         });

}  // namespace
}  // namespace inputserve::testing
