#include "server/sources/shard_plan.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace inputserve {
namespace {

std::vector<DataFile> Files(const std::vector<uint64_t>& counts) {
  std::vector<DataFile> files;
  for (size_t i = 0; i < counts.size(); ++i) {
    DataFile f;
    f.path = "f" + std::to_string(i);
    f.num_records = counts[i];
    files.push_back(f);
  }
  return files;
}

// Global record indices shard k owns, visiting files in epoch order.
std::vector<uint64_t> Owned(const ShardPlan& plan, uint64_t epoch) {
  std::vector<uint64_t> out;
  for (const DataFile* f : plan.EpochFiles(epoch)) {
    for (uint64_t r = 0; r < f->num_records; ++r) {
      if (plan.Owns(f->first_record + r)) out.push_back(f->first_record + r);
    }
  }
  return out;
}

void ExpectExactCover(const std::vector<uint64_t>& counts, uint32_t shards) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  std::multiset<uint64_t> seen;
  for (uint32_t k = 0; k < shards; ++k) {
    absl::StatusOr<ShardPlan> plan =
        ShardPlan::Create(Files(counts), k, shards, 5);
    ASSERT_TRUE(plan.ok()) << plan.status();
    const std::vector<uint64_t> owned = Owned(*plan, 3);
    EXPECT_EQ(owned.size(), plan->examples_per_epoch()) << "shard " << k;
    seen.insert(owned.begin(), owned.end());
    // OwnedRecord lists the same records in global order.
    std::vector<uint64_t> sorted(owned);
    std::sort(sorted.begin(), sorted.end());
    std::vector<uint64_t> by_position;
    for (uint64_t p = 0; p < plan->examples_per_epoch(); ++p) {
      by_position.push_back(plan->OwnedRecord(p));
    }
    EXPECT_EQ(by_position, sorted) << "shard " << k;
  }
  ASSERT_EQ(seen.size(), total);
  for (uint64_t r = 0; r < total; ++r) EXPECT_EQ(seen.count(r), 1u) << r;
}

TEST(ShardPlanTest, ManyFilesSplitByFile) {
  ExpectExactCover({5, 7, 1, 9, 4, 4, 2}, 3);
  ExpectExactCover({5, 0, 7, 0, 2, 3}, 2);  // Empty files are passed over.
  absl::StatusOr<ShardPlan> plan =
      ShardPlan::Create(Files({5, 7, 1, 9}), 1, 3, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->shards_records());
  EXPECT_EQ(plan->examples_per_epoch(), 7u);  // Only file 1.
}

TEST(ShardPlanTest, FewFilesSplitByRecord) {
  ExpectExactCover({10, 3}, 3);
  ExpectExactCover({1}, 3);
  absl::StatusOr<ShardPlan> plan = ShardPlan::Create(Files({10, 3}), 2, 3, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->shards_records());
  EXPECT_EQ(plan->examples_per_epoch(), 4u);  // 2, 5, 8, 11.
}

TEST(ShardPlanTest, EpochOrderIsDeterministicAndChanges) {
  const std::vector<uint64_t> counts(12, 1);
  absl::StatusOr<ShardPlan> a = ShardPlan::Create(Files(counts), 0, 1, 42);
  absl::StatusOr<ShardPlan> b = ShardPlan::Create(Files(counts), 0, 1, 42);
  absl::StatusOr<ShardPlan> c = ShardPlan::Create(Files(counts), 0, 1, 43);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(Owned(*a, 0), Owned(*b, 0));
  EXPECT_EQ(Owned(*a, 1), Owned(*b, 1));
  EXPECT_NE(Owned(*a, 0), Owned(*a, 1));
  EXPECT_NE(Owned(*a, 0), Owned(*c, 0));
}

TEST(ShardPlanTest, RejectsBadShardOptions) {
  EXPECT_TRUE(
      absl::IsInvalidArgument(ShardPlan::Create(Files({1}), 0, 0, 0).status()));
  absl::Status s = ShardPlan::Create(Files({1}), 3, 3, 0).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("shard_index"), absl::string_view::npos) << s;
}

}  // namespace
}  // namespace inputserve
