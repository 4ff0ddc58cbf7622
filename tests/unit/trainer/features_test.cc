#include "trainer_example/features.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace inputserve::trainer {
namespace {

TEST(MakeFeatureSpecTest, Cifar32KeepsEveryPixel) {
  absl::StatusOr<FeatureSpec> spec = MakeFeatureSpec(32, 32, 3, 32);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->pool, 1);
  EXPECT_EQ(spec->out_height, 32);
  EXPECT_EQ(spec->out_width, 32);
  EXPECT_EQ(spec->dim(), 3072);
}

TEST(MakeFeatureSpecTest, ImageNetPoolsTo32) {
  absl::StatusOr<FeatureSpec> spec = MakeFeatureSpec(224, 224, 3, 32);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->pool, 7);
  EXPECT_EQ(spec->out_height, 32);
  EXPECT_EQ(spec->out_width, 32);
}

TEST(MakeFeatureSpecTest, UnevenSidesDropEdgePixels) {
  absl::StatusOr<FeatureSpec> spec = MakeFeatureSpec(70, 50, 1, 32);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->pool, 3);
  EXPECT_EQ(spec->out_height, 23);
  EXPECT_EQ(spec->out_width, 16);
}

TEST(MakeFeatureSpecTest, RejectsNonPositiveSizes) {
  EXPECT_EQ(MakeFeatureSpec(0, 32, 3, 32).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeFeatureSpec(32, 32, 3, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FeaturizeCpuTest, AveragesWindowsPerChannelAndSubtractsMean) {
  // 4x4 image, 2 channels, pooled 2x2 -> 2x2x2 features.
  absl::StatusOr<FeatureSpec> spec = MakeFeatureSpec(4, 4, 2, 2);
  ASSERT_TRUE(spec.ok());
  ASSERT_EQ(spec->pool, 2);
  std::vector<uint8_t> image(4 * 4 * 2);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      image[(y * 4 + x) * 2 + 0] = static_cast<uint8_t>(10 * (y * 4 + x));
      image[(y * 4 + x) * 2 + 1] = 255;
    }
  }
  std::vector<float> mean(spec->dim(), 0.0f);
  mean[1] = 0.25f;
  std::vector<float> out(spec->dim());
  FeaturizeCpu(*spec, image.data(), 1, mean.data(), out.data());
  // Window (0,0) channel 0: pixels 0,1,4,5 -> 10*(0+1+4+5)/4 = 25.
  EXPECT_FLOAT_EQ(out[0], 25.0f / 255.0f);
  EXPECT_FLOAT_EQ(out[1], 1.0f - 0.25f);
  // Window (0,1) channel 0: pixels 2,3,6,7 -> 45.
  EXPECT_FLOAT_EQ(out[2], 45.0f / 255.0f);
  // Window (1,1) channel 0: pixels 10,11,14,15 -> 125.
  EXPECT_FLOAT_EQ(out[6], 125.0f / 255.0f);
}

TEST(MeanFeaturesTest, IsThePerFeatureMean) {
  absl::StatusOr<FeatureSpec> spec = MakeFeatureSpec(1, 2, 1, 2);
  ASSERT_TRUE(spec.ok());
  const std::vector<uint8_t> images = {0, 255, 255, 255};  // Two images.
  std::vector<float> mean = MeanFeatures(*spec, images.data(), 2);
  ASSERT_EQ(mean.size(), 2u);
  EXPECT_FLOAT_EQ(mean[0], 0.5f);
  EXPECT_FLOAT_EQ(mean[1], 1.0f);
}

}  // namespace
}  // namespace inputserve::trainer
