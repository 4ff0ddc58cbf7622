#include "server/pipeline/epoch_plan.h"

#include <algorithm>
#include <memory>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"

namespace inputserve {
namespace {

// A shard that owns every third record (by record modulo, shard 1 of 3).
class FakeDataset : public Dataset {
 public:
  FakeDataset(uint64_t examples, bool random_access)
      : examples_(examples), random_access_(random_access) {}
  ExampleShape shape() const override { return {4, 4, 3, 10}; }
  uint64_t examples_per_epoch() const override { return examples_; }
  std::unique_ptr<ExampleReader> NewReader(SkipSink*) const override {
    return nullptr;
  }
  std::unique_ptr<ExampleDecoder> NewDecoder() const override {
    return nullptr;
  }
  bool random_access() const override { return random_access_; }
  uint64_t ShardRecord(uint64_t position) const override {
    return 1 + 3 * position;
  }

 private:
  uint64_t examples_;
  bool random_access_;
};

TEST(EpochPlanTest, EachEpochIsAPermutationOfTheShardsRecords) {
  FakeDataset dataset(1000, true);
  auto plan = EpochPlan::Create(&dataset, 5, 1, 3);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<uint64_t> e0 = (*plan)->Records(0, 0, 1000);
  std::vector<uint64_t> e1 = (*plan)->Records(1, 0, 1000);
  ASSERT_EQ(e0.size(), 1000u);
  EXPECT_NE(e0, e1);  // A fresh shuffle per epoch.
  std::vector<uint64_t> expected(1000);
  for (uint64_t i = 0; i < 1000; ++i) expected[i] = 1 + 3 * i;
  std::vector<uint64_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, expected);
  // Not the identity, and batches are slices of the order.
  EXPECT_NE(e0, expected);
  EXPECT_EQ((*plan)->Records(0, 992, 8),
            std::vector<uint64_t>(e0.begin() + 992, e0.end()));
  // Clipped at the end of the epoch (a short last batch).
  EXPECT_EQ((*plan)->Records(0, 996, 8).size(), 4u);
}

TEST(EpochPlanTest, OrderIsAPureFunctionOfSeedEpochAndShard) {
  FakeDataset dataset(500, true);
  auto a = EpochPlan::Create(&dataset, 5, 1, 3);
  auto b = EpochPlan::Create(&dataset, 5, 1, 3);
  auto other_seed = EpochPlan::Create(&dataset, 6, 1, 3);
  auto other_shard = EpochPlan::Create(&dataset, 5, 2, 3);
  ASSERT_TRUE(a.ok() && b.ok() && other_seed.ok() && other_shard.ok());
  // Epochs asked in a different order, past the cache, give the same order.
  for (uint64_t e : {7, 0, 1, 2, 3}) (*b)->Permutation(e);
  for (uint64_t e : {0, 7, 3}) {
    EXPECT_EQ(*(*a)->Permutation(e), *(*b)->Permutation(e)) << "epoch " << e;
  }
  EXPECT_NE(*(*a)->Permutation(0), *(*other_seed)->Permutation(0));
  EXPECT_NE(*(*a)->Permutation(0), *(*other_shard)->Permutation(0));
}

TEST(EpochPlanTest, RefusesDatasetsWithoutAFixedEpochOrIndex) {
  FakeDataset unbounded(0, true);
  EXPECT_EQ(EpochPlan::Create(&unbounded, 1, 0, 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  FakeDataset no_index(10, false);
  auto s = EpochPlan::Create(&no_index, 1, 0, 1).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("record index"), std::string::npos);
}

TEST(EpochPlanTest, FingerprintChangesWithEveryInput) {
  OrderInputs base;
  base.seed = 1;
  base.batch_size = 8;
  base.num_shards = 2;
  base.examples_per_epoch = 100;
  base.shape = {32, 32, 3, 10};
  base.image_size = 224;
  const uint64_t f = OrderFingerprint(base);
  EXPECT_NE(f, 0u);
  EXPECT_EQ(OrderFingerprint(base), f);
  OrderInputs x = base;
  x.seed = 2;
  EXPECT_NE(OrderFingerprint(x), f);
  x = base;
  x.batch_size = 16;
  EXPECT_NE(OrderFingerprint(x), f);
  x = base;
  x.shard_index = 1;
  EXPECT_NE(OrderFingerprint(x), f);
  x = base;
  x.examples_per_epoch = 99;
  EXPECT_NE(OrderFingerprint(x), f);
  x = base;
  x.augment = false;
  EXPECT_NE(OrderFingerprint(x), f);
}

}  // namespace
}  // namespace inputserve
