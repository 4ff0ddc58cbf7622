#include "server/sources/random_source.h"

#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "source_test_util.h"

namespace inputserve {
namespace {

using ::inputserve::testing::RecordingSkipSink;

std::unique_ptr<Dataset> Open(const std::string& spec, uint64_t seed,
                              uint32_t shard = 0, uint32_t shards = 1,
                              int image_size = 224) {
  DatasetOptions o;
  o.spec = spec;
  o.seed = seed;
  o.shard_index = shard;
  o.num_shards = shards;
  o.image_size = image_size;
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(o);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return ds.ok() ? *std::move(ds) : nullptr;
}

TEST(RandomSourceTest, Shapes) {
  auto c = Open("synthetic:cifar10", 0);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->shape().height, 32);
  EXPECT_EQ(c->shape().width, 32);
  EXPECT_EQ(c->shape().channels, 3);
  EXPECT_EQ(c->shape().num_classes, 10);
  EXPECT_EQ(c->examples_per_epoch(), 0u);
  auto i = Open("synthetic:imagenet", 0, 0, 1, 160);
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->shape().height, 160);
  EXPECT_EQ(i->shape().width, 160);
  EXPECT_EQ(i->shape().num_classes, 1000);
}

TEST(RandomSourceTest, DeterministicPerSeedAndIndexAndUnbounded) {
  auto a = Open("synthetic:imagenet", 5);
  auto b = Open("synthetic:imagenet", 5);
  auto c = Open("synthetic:imagenet", 6);
  RecordingSkipSink skips;
  auto reader = a->NewReader(&skips);
  ASSERT_TRUE(reader->StartEpoch(0).ok());
  auto da = a->NewDecoder(), db = b->NewDecoder(), dc = c->NewDecoder();
  const size_t n = a->shape().image_bytes();
  std::set<int32_t> labels;
  std::vector<uint8_t> prev;
  for (int i = 0; i < 300; ++i) {
    absl::StatusOr<RawExample> ex = reader->Next();
    ASSERT_TRUE(ex.ok()) << ex.status();
    EXPECT_EQ(ex->index, static_cast<uint64_t>(i));
    std::vector<uint8_t> ia(n), ib(n), ic(n);
    int32_t la, lb, lc;
    ASSERT_TRUE(da->Decode(*ex, /*rng_seed=*/i, ia.data(), &la).ok());
    ASSERT_TRUE(db->Decode(*ex, /*rng_seed=*/i + 1, ib.data(), &lb).ok());
    ASSERT_TRUE(dc->Decode(*ex, i, ic.data(), &lc).ok());
    EXPECT_EQ(ia, ib);
    EXPECT_EQ(la, lb);
    EXPECT_NE(ia, ic);
    EXPECT_NE(ia, prev);
    ASSERT_GE(la, 0);
    ASSERT_LT(la, 1000);
    labels.insert(la);
    prev = ia;
  }
  EXPECT_GT(labels.size(), 200u);  // Labels spread over the classes.
}

TEST(RandomSourceTest, BytesLookUniform) {
  std::vector<uint8_t> img(1 << 16);
  FillRandomBytes(1, 2, img.data(), img.size());
  std::vector<int> hist(256);
  for (uint8_t v : img) ++hist[v];
  for (int h : hist) {
    EXPECT_GT(h, 150);  // Expected 256 per value.
    EXPECT_LT(h, 370);
  }
}

TEST(RandomSourceTest, ShardsProduceDisjointIndices) {
  std::set<uint64_t> seen;
  for (uint32_t k = 0; k < 3; ++k) {
    auto ds = Open("synthetic:cifar10", 0, k, 3);
    RecordingSkipSink skips;
    auto reader = ds->NewReader(&skips);
    ASSERT_TRUE(reader->StartEpoch(0).ok());
    for (int i = 0; i < 50; ++i) {
      absl::StatusOr<RawExample> ex = reader->Next();
      ASSERT_TRUE(ex.ok());
      EXPECT_TRUE(seen.insert(ex->index).second) << ex->index;
    }
  }
  EXPECT_EQ(*seen.rbegin(), 149u);  // Exactly indices 0..149.
}

}  // namespace
}  // namespace inputserve
