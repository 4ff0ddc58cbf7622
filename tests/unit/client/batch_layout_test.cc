#include "client/batch_layout.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/client/image_label_specs.h"

namespace inputserve::client_internal {
namespace {

using ::testing::HasSubstr;

google::protobuf::RepeatedPtrField<v1::TensorSpec> Specs(int batch) {
  return testing::ImageLabelSpecs(batch, 32, 32);
}

TEST(BatchLayoutTest, OffsetsAndSlices) {
  absl::StatusOr<BatchLayout> layout = BatchLayout::Create(8, Specs(8), 4);
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->tensors().size(), 2u);
  const TensorPlacement& image = layout->tensors()[0];
  const TensorPlacement& label = layout->tensors()[1];
  EXPECT_EQ(image.offset, 0u);
  EXPECT_EQ(image.num_bytes, 8u * 32 * 32 * 3);
  EXPECT_EQ(image.slice_bytes, 2u * 32 * 32 * 3);
  EXPECT_EQ(image.slice_shape, (std::vector<int64_t>{2, 32, 32, 3}));
  EXPECT_EQ(label.offset, image.num_bytes);
  EXPECT_EQ(label.slice_bytes, 8u);
  EXPECT_EQ(label.packed_offset, image.slice_bytes);
  EXPECT_EQ(layout->payload_bytes(), image.num_bytes + 32);
  EXPECT_EQ(layout->slice_payload_bytes(), image.slice_bytes + 8);
  EXPECT_TRUE(layout->CheckMatches(Specs(8)).ok());
}

TEST(BatchLayoutTest, RejectsBadSpecs) {
  auto specs = Specs(8);
  specs[1].set_dtype(static_cast<v1::DType>(42));
  EXPECT_EQ(BatchLayout::Create(8, specs, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  specs = Specs(8);
  specs[0].set_shape(0, 7);
  absl::Status s = BatchLayout::Create(8, specs, 1).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("dim 0")) << s;
  specs = Specs(8);
  specs[0].set_shape(1, -5);
  EXPECT_FALSE(BatchLayout::Create(8, specs, 1).ok());
  specs = Specs(8);
  specs[0].set_shape(1, int64_t{1} << 40);
  specs[0].set_shape(2, int64_t{1} << 40);
  EXPECT_FALSE(BatchLayout::Create(8, specs, 1).ok());
  EXPECT_FALSE(BatchLayout::Create(8, Specs(8), 3).ok());
  EXPECT_FALSE(BatchLayout::Create(0, Specs(0), 1).ok());
}

TEST(BatchLayoutTest, CheckMatchesNamesTheDifference) {
  absl::StatusOr<BatchLayout> layout = BatchLayout::Create(8, Specs(8), 1);
  ASSERT_TRUE(layout.ok());
  auto other = Specs(8);
  other[1].set_name("labels");
  absl::Status s = layout->CheckMatches(other);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("labels")) << s;
  other = Specs(8);
  other.RemoveLast();
  EXPECT_FALSE(layout->CheckMatches(other).ok());
}

}  // namespace
}  // namespace inputserve::client_internal
