#include "trainer_example/step_digest.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inputserve::trainer {
namespace {

using ::testing::HasSubstr;

TensorView View(const std::string& name, ElementType dtype, void* data,
                size_t bytes) {
  TensorView t;
  t.name = name;
  t.dtype = dtype;
  t.shape = {static_cast<int64_t>(bytes)};
  t.data = data;
  t.num_bytes = bytes;
  return t;
}

// SHA-256("abc") from FIPS 180-2, appendix B.1.
constexpr char kShaAbc[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(StepDigestLineTest, HashesTheTensorsOverAllDevicesInOrder) {
  std::unique_ptr<GradientBackend> backend = MakeCpuBackend();
  std::string a = "a", bc = "bc";
  int32_t labels[3] = {7, -1, 1000};
  Batch batch;
  batch.step = 41;
  batch.epoch = 3;
  // Device 0 has image "a" and label 7, device 1 image "bc" and labels
  // -1, 1000: the payload is "abc" followed by the three labels.
  batch.devices.resize(2);
  batch.devices[0].tensors = {View("image", ElementType::kUint8, a.data(), 1),
                              View("label", ElementType::kInt32, labels, 4)};
  batch.devices[1].tensors = {
      View("image", ElementType::kUint8, bc.data(), 2),
      View("label", ElementType::kInt32, labels + 1, 8)};
  absl::StatusOr<std::string> line = StepDigestLine(batch, backend.get());
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_THAT(*line, ::testing::MatchesRegex("41 3 [0-9a-f]{64} 7,-1,1000"));
  EXPECT_THAT(*line, ::testing::Not(HasSubstr(kShaAbc)));

  // Without labels the payload is exactly "abc".
  batch.devices[0].tensors.pop_back();
  batch.devices[1].tensors.pop_back();
  line = StepDigestLine(batch, backend.get());
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, std::string("41 3 ") + kShaAbc + " ");
}

TEST(StepDigestLineTest, RejectsMismatchedDevicesAndNonInt32Labels) {
  std::unique_ptr<GradientBackend> backend = MakeCpuBackend();
  std::string bytes = "xyzw";
  Batch batch;
  batch.devices.resize(2);
  batch.devices[0].tensors = {View("image", ElementType::kUint8, &bytes[0], 1)};
  batch.devices[1].tensors = {View("label", ElementType::kUint8, &bytes[1], 1)};
  absl::StatusOr<std::string> line = StepDigestLine(batch, backend.get());
  EXPECT_EQ(line.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(line.status().message(), HasSubstr("other tensors"));

  batch.devices.resize(1);
  batch.devices[0].tensors = {View("label", ElementType::kUint8, &bytes[0], 4)};
  line = StepDigestLine(batch, backend.get());
  EXPECT_EQ(line.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(line.status().message(), HasSubstr("not int32"));

  EXPECT_EQ(StepDigestLine(Batch{}, backend.get()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace inputserve::trainer
