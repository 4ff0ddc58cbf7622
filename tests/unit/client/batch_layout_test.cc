#include "client/batch_layout.h"

#include <cstring>
#include <vector>

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

TEST(BatchLayoutTest, ShortBatchRowsAndPayload) {
  absl::StatusOr<BatchLayout> layout = BatchLayout::Create(8, Specs(8), 4);
  ASSERT_TRUE(layout.ok()) << layout.status();
  absl::StatusOr<int> rows = layout->CheckMatchesRows(Specs(5));
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, 5);
  EXPECT_EQ(*layout->CheckMatchesRows(Specs(8)), 8);
  EXPECT_EQ(layout->PayloadBytes(5), 5u * (32 * 32 * 3 + 4));
  EXPECT_EQ(layout->PayloadBytes(8), layout->payload_bytes());
  EXPECT_FALSE(layout->CheckMatchesRows(Specs(9)).ok());
  EXPECT_FALSE(layout->CheckMatchesRows(Specs(0)).ok());
  auto mixed = Specs(5);
  mixed[1].set_shape(0, 4);  // Labels for another number of examples.
  EXPECT_FALSE(layout->CheckMatchesRows(mixed).ok());
  auto other = Specs(5);
  other[0].set_shape(1, 16);  // Not just dim 0 differs.
  EXPECT_FALSE(layout->CheckMatchesRows(other).ok());
  // 5 examples over 4 slices: 2, 1, 1, 1 from examples 0, 2, 3, 4.
  EXPECT_EQ(layout->SliceRows(5, 0), 2);
  EXPECT_EQ(layout->SliceRows(5, 3), 1);
  EXPECT_EQ(layout->SliceStart(5, 1), 2);
  EXPECT_EQ(layout->SliceStart(5, 3), 4);
  EXPECT_EQ(layout->SliceRows(3, 3), 0);
}

TEST(BatchLayoutTest, SpreadShortBatchPutsEachSliceWhereAFullOneStarts) {
  absl::StatusOr<BatchLayout> layout =
      BatchLayout::Create(8, testing::ImageLabelSpecs(8, 1, 1), 4);
  ASSERT_TRUE(layout.ok()) << layout.status();
  constexpr int kRows = 5;
  // Packed: 5 images of 3 bytes (example e: bytes 10e, 10e+1, 10e+2), then
  // 5 int32 labels (100 + e).
  std::vector<uint8_t> payload(layout->payload_bytes(), 0xee);
  for (int e = 0; e < kRows; ++e) {
    for (int b = 0; b < 3; ++b) payload[3 * e + b] = 10 * e + b;
    const int32_t label = 100 + e;
    std::memcpy(&payload[3 * kRows + 4 * e], &label, 4);
  }
  layout->SpreadShortBatch(payload.data(), kRows);
  const TensorPlacement& image = layout->tensors()[0];
  const TensorPlacement& label = layout->tensors()[1];
  for (int d = 0; d < 4; ++d) {
    for (int k = 0; k < layout->SliceRows(kRows, d); ++k) {
      const int e = layout->SliceStart(kRows, d) + k;
      for (int b = 0; b < 3; ++b) {
        EXPECT_EQ(payload[image.offset + d * image.slice_bytes + 3 * k + b],
                  10 * e + b)
            << "device " << d << " example " << e;
      }
      int32_t value;
      std::memcpy(&value,
                  &payload[label.offset + d * label.slice_bytes + 4 * k], 4);
      EXPECT_EQ(value, 100 + e) << "device " << d;
    }
  }
}

}  // namespace
}  // namespace inputserve::client_internal
