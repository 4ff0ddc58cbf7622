#include "common/data_order.h"

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace inputserve {
namespace {

ShardLayout Layout(uint32_t batch_size, std::vector<uint64_t> examples) {
  return ShardLayout{batch_size, std::move(examples)};
}

// Every (shard, example offset) a set of ranks gets in one epoch.
std::multiset<std::pair<uint32_t, uint64_t>> EpochExamples(
    const ShardLayout& layout, uint32_t world_size, bool drop_remainder,
    std::vector<uint64_t>* steps_per_rank) {
  std::multiset<std::pair<uint32_t, uint64_t>> seen;
  for (uint32_t rank = 0; rank < world_size; ++rank) {
    auto plan = RankPlan::Create(layout, rank, world_size, drop_remainder);
    EXPECT_TRUE(plan.ok()) << plan.status();
    if (!plan.ok()) continue;
    steps_per_rank->push_back(plan->steps_per_epoch());
    for (uint64_t t = 0; t < plan->steps_per_epoch(); ++t) {
      const PlannedBatch b = plan->At(t);
      EXPECT_EQ(b.epoch, 0u);
      EXPECT_EQ(b.step, t);
      for (uint64_t i = 0; i < b.size; ++i) {
        seen.insert({b.shard, b.index * layout.batch_size + i});
      }
    }
  }
  return seen;
}

TEST(RankPlanTest, EvaluationDeliversEveryExampleOnceForAnyWorldSize) {
  const ShardLayout layout = Layout(8, {37, 50, 9});
  for (uint32_t world = 1; world <= 5; ++world) {
    std::vector<uint64_t> steps;
    const auto seen = EpochExamples(layout, world, false, &steps);
    EXPECT_EQ(seen.size(), 37u + 50u + 9u) << "world " << world;
    for (uint32_t s = 0; s < 3; ++s) {
      for (uint64_t i = 0; i < layout.shard_examples[s]; ++i) {
        EXPECT_EQ(seen.count({s, i}), 1u) << s << "/" << i;
      }
    }
  }
}

TEST(RankPlanTest, TrainingGivesEveryRankTheSameFullBatchesNoneTwice) {
  const ShardLayout layout = Layout(8, {37, 50, 9});  // 4 + 6 + 1 full.
  for (uint32_t world = 1; world <= 5; ++world) {
    std::vector<uint64_t> steps;
    const auto seen = EpochExamples(layout, world, true, &steps);
    ASSERT_EQ(steps.size(), world);
    for (uint64_t n : steps) EXPECT_EQ(n, 11u / world) << "world " << world;
    EXPECT_EQ(seen.size(), 11u / world * world * 8);
    for (const auto& example : seen) EXPECT_EQ(seen.count(example), 1u);
  }
}

TEST(RankPlanTest, StepsMapToEpochsAndRepeatTheEpochShape) {
  auto plan = RankPlan::Create(Layout(4, {10, 10}), 1, 2, false);
  ASSERT_TRUE(plan.ok()) << plan.status();
  // 3 batches per shard (4, 4, 2), interleaved: positions 0..5; rank 1 gets
  // positions 1, 3, 5: shard 1 batches 0, 1, 2.
  ASSERT_EQ(plan->steps_per_epoch(), 3u);
  const PlannedBatch b = plan->At(7);
  EXPECT_EQ(b.epoch, 2u);
  EXPECT_EQ(b.shard, 1u);
  EXPECT_EQ(b.index, 1u);
  EXPECT_EQ(plan->At(5).size, 2u);
  EXPECT_FALSE(plan->UsesShard(0));
  EXPECT_TRUE(plan->UsesShard(1));
}

TEST(RankPlanTest, NextStepOnShardWalksAcrossEpochs) {
  auto plan = RankPlan::Create(Layout(4, {8, 4}), 0, 1, true);
  ASSERT_TRUE(plan.ok()) << plan.status();
  // Round 0: shard 0 b0, shard 1 b0; round 1: shard 0 b1.
  ASSERT_EQ(plan->steps_per_epoch(), 3u);
  EXPECT_EQ(plan->NextStepOnShard(1, 0), 1u);
  EXPECT_EQ(plan->NextStepOnShard(1, 2), 4u);
  EXPECT_EQ(plan->NextStepOnShard(0, 2), 2u);
  EXPECT_EQ(plan->NextStepOnShard(0, 3), 3u);
  EXPECT_EQ(plan->NextStepOnShard(2, 0), std::nullopt);
  for (uint64_t t = 0; t < 30; ++t) {
    const PlannedBatch b = plan->At(t);
    EXPECT_EQ(plan->NextStepOnShard(b.shard, t), t);
  }
}

TEST(RankPlanTest, RejectsBadArgumentsWithClearErrors) {
  EXPECT_EQ(RankPlan::Create(Layout(4, {8}), 0, 0, true).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RankPlan::Create(Layout(4, {8}), 2, 2, true).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RankPlan::Create(Layout(0, {8}), 0, 1, true).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RankPlan::Create(Layout(4, {}), 0, 1, true).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Two full batches cannot feed three ranks.
  const absl::Status few = RankPlan::Create(Layout(4, {9}), 2, 3, true).status();
  EXPECT_EQ(few.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(few.message().find("fewer than world_size 3"), std::string::npos)
      << few;
  // Without drop_remainder the third (short) batch feeds rank 2.
  EXPECT_TRUE(RankPlan::Create(Layout(4, {9}), 2, 3, false).ok());
}

}  // namespace
}  // namespace inputserve
