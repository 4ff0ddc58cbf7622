#include "client/device/host_backend.h"

#include <cstring>

#include "client/device/backend.h"
#include "gtest/gtest.h"
#include "tests/unit/client/image_label_specs.h"

namespace inputserve::client_internal {
namespace {

constexpr int kBatch = 6;

google::protobuf::RepeatedPtrField<v1::TensorSpec> Specs() {
  return testing::ImageLabelSpecs(kBatch, 2, 2);
}

TEST(HostBackendTest, PlaceViewsSlicesAndCacheCopiesSliceZero) {
  absl::StatusOr<BatchLayout> layout = BatchLayout::Create(kBatch, Specs(), 3);
  ASSERT_TRUE(layout.ok());
  HostBackend backend(&*layout);
  std::vector<uint8_t> batch(layout->payload_bytes());
  for (size_t i = 0; i < batch.size(); ++i) batch[i] = static_cast<uint8_t>(i);
  DevicePointers ptrs(3, std::vector<void*>(2));
  ASSERT_TRUE(backend.Place(batch.data(), &ptrs).ok());
  const size_t image_slice = 2 * 2 * 2 * 3;  // 2 examples per device.
  for (int d = 0; d < 3; ++d) {
    EXPECT_EQ(ptrs[d][0], batch.data() + d * image_slice);
    EXPECT_EQ(ptrs[d][1], batch.data() + kBatch * 12 + d * 8);
  }
  DevicePointers cache(3, std::vector<void*>(2));
  absl::StatusOr<DeviceLease> lease = backend.BuildCache(batch.data(), &cache);
  ASSERT_TRUE(lease.ok());
  ASSERT_NE(*lease, nullptr);  // The lease owns the cache buffers.
  batch.assign(batch.size(), 0xEE);  // The cache must not alias the batch.
  for (int d = 0; d < 3; ++d) {
    const uint8_t* image = static_cast<const uint8_t*>(cache[d][0]);
    const uint8_t* label = static_cast<const uint8_t*>(cache[d][1]);
    for (size_t i = 0; i < image_slice; ++i) ASSERT_EQ(image[i], i);
    for (size_t i = 0; i < 8; ++i) ASSERT_EQ(label[i], kBatch * 12 + i);
    // Laid out like a payload: the slices follow each other per tensor.
    EXPECT_EQ(image, static_cast<const uint8_t*>(cache[0][0]) +
                         d * image_slice);
    EXPECT_EQ(label, static_cast<const uint8_t*>(cache[0][1]) + d * 8);
  }
}

TEST(DeviceBackendTest, AutoFallsBackToHostWithoutGpus) {
  absl::StatusOr<BatchLayout> layout = BatchLayout::Create(kBatch, Specs(), 2);
  ASSERT_TRUE(layout.ok());
  if (CudaDeviceCount() >= 2) GTEST_SKIP() << "GPUs present";
  ClientOptions options;
  options.num_devices = 2;
  auto backend = CreateDeviceBackend(options, &*layout);
  ASSERT_TRUE(backend.ok());
  EXPECT_EQ((*backend)->memory_kind(), MemoryKind::kHost);
  options.device_kind = DeviceKind::kCuda;
  auto cuda = CreateDeviceBackend(options, &*layout);
  EXPECT_EQ(cuda.status().code(), absl::StatusCode::kFailedPrecondition);
  // Built with CUDA the message names the GPUs wanted (2); built without,
  // it says so.
  EXPECT_TRUE(cuda.status().message().find("2") != std::string::npos ||
              cuda.status().message().find("without CUDA") !=
                  std::string::npos)
      << cuda.status();
}

}  // namespace
}  // namespace inputserve::client_internal
