#include "server/codec/augment.h"

#include <cmath>
#include <set>
#include <tuple>

#include "gtest/gtest.h"
#include "server/codec/image_preprocessor.h"

namespace inputserve {
namespace {

TEST(AugmentTest, RandomResizedCropStaysInRange) {
  std::set<std::tuple<int, int, int, int>> distinct;
  int fallbacks = 0;
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    Rng rng(seed);
    const int w = 200 + static_cast<int>(seed % 500),
              h = 150 + static_cast<int>(seed % 333);
    const CropWindow c = RandomResizedCropWindow(w, h, rng);
    ASSERT_GE(c.x, 0);
    ASSERT_GE(c.y, 0);
    ASSERT_GT(c.width, 0);
    ASSERT_GT(c.height, 0);
    ASSERT_LE(c.x + c.width, w);
    ASSERT_LE(c.y + c.height, h);
    const double area = double(c.width) * c.height / (double(w) * h);
    const double ratio = double(c.width) / c.height;
    // Rounding to whole pixels moves the bounds a little.
    EXPECT_GE(area, 0.075);
    EXPECT_LE(ratio, 4.0 / 3.0 * 1.03);
    EXPECT_GE(ratio, 3.0 / 4.0 / 1.03);
    if (c.width == w || c.height == h) ++fallbacks;
    distinct.emplace(c.x, c.y, c.width, c.height);
  }
  EXPECT_GT(distinct.size(), 1900u);
  EXPECT_LT(fallbacks, 400);
}

TEST(AugmentTest, FallbackIsTheLargestCenteredInRangeWindow) {
  // A 100:1 strip: no window of area >= 8% fits the aspect range.
  Rng rng(1);
  const CropWindow c = RandomResizedCropWindow(10000, 100, rng);
  EXPECT_EQ(c.height, 100);
  EXPECT_EQ(c.width, 133);  // 100 * 4/3.
  EXPECT_EQ(c.x, (10000 - 133) / 2);
  EXPECT_EQ(c.y, 0);
}

TEST(AugmentTest, CenterCropIsResizeShorterSideThenCrop) {
  // 640x427: shorter side 427 -> 256 for a 224 crop keeps 427*0.875 = 374.
  EXPECT_EQ(CenterCropWindow(640, 427), (CropWindow{133, 26, 374, 374}));
  EXPECT_EQ(CenterCropWindow(100, 300), (CropWindow{6, 106, 88, 88}));
}

TEST(AugmentTest, PlanCropIsDeterministicAndFlipsHalfTheTime) {
  int flips = 0;
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    const CropPlan a = PlanCrop(500, 375, true, seed);
    const CropPlan b = PlanCrop(500, 375, true, seed);
    ASSERT_EQ(a.window, b.window);
    ASSERT_EQ(a.flip, b.flip);
    flips += a.flip;
  }
  EXPECT_GT(flips, 430);
  EXPECT_LT(flips, 570);
  const CropPlan eval = PlanCrop(500, 375, false, 7);
  EXPECT_FALSE(eval.flip);
  EXPECT_EQ(eval.window, CenterCropWindow(500, 375));
}

TEST(AugmentTest, ScaleChoiceKeepsEnoughPixels) {
  EXPECT_EQ(ChooseScaleDenom({0, 0, 2000, 1800}, 224, 8), 8);
  EXPECT_EQ(ChooseScaleDenom({0, 0, 2000, 1000}, 224, 8), 4);
  EXPECT_EQ(ChooseScaleDenom({0, 0, 500, 460}, 224, 8), 2);
  EXPECT_EQ(ChooseScaleDenom({0, 0, 447, 900}, 224, 8), 1);
  EXPECT_EQ(ChooseScaleDenom({0, 0, 2000, 1800}, 224, 2), 2);
  EXPECT_EQ(ChooseScaleDenom({0, 0, 2000, 1800}, 224, 1), 1);
}

}  // namespace
}  // namespace inputserve
