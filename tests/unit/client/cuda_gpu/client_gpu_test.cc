// The client on real GPUs (label gpu; each test skips, saying so, where no
// GPU is usable): batches read back from device memory match what the fake
// server sent, also when the trainer's stream is held up by a slow host
// function queued before the read-back (a copy that overwrote the slot
// would show), synthetic mode copies nothing after the one upload, and the
// no-stream mode hands out complete batches.
#include <cuda_runtime.h>

#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "tests/unit/client/client_test_util.h"
#include "tests/unit/client/expected_slices.h"
#include "tests/unit/client/fake_input_server.h"

namespace inputserve::testing {
namespace {

constexpr int kBatch = 8;
constexpr size_t kImageBytesPerExample = 4 * 4 * 3;

int UsableGpus() {
  int count = 0;  // Left unset by a failing call.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

void CUDART_CB SlowStep(void*) { absl::SleepFor(absl::Milliseconds(20)); }

class ClientGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const int gpus = UsableGpus();
    if (gpus == 0) GTEST_SKIP() << "no usable GPU (cudaGetDeviceCount)";
    devices_ = gpus >= 2 ? 2 : 1;
    for (int d = 0; d < devices_; ++d) {
      ASSERT_EQ(cudaSetDevice(d), cudaSuccess);
      cudaStream_t stream = nullptr;
      ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
                cudaSuccess);
      streams_.push_back(stream);
    }
  }
  void TearDown() override {
    for (size_t d = 0; d < streams_.size(); ++d) {
      cudaSetDevice(static_cast<int>(d));
      cudaStreamSynchronize(static_cast<cudaStream_t>(streams_[d]));
      cudaStreamDestroy(static_cast<cudaStream_t>(streams_[d]));
    }
  }

  ClientOptions Options(const FakeInputServer& server, bool streams) const {
    ClientOptions o = FastOptions({server.target()});
    o.num_devices = devices_;
    o.device_kind = DeviceKind::kCuda;
    if (streams) o.cuda_streams = streams_;
    return o;
  }

  // Queues the read-back of device d's image slice on its stream (after a
  // slow host function when `slow`); valid once the stream is synchronized.
  void ReadBack(const Batch& batch, int d, bool slow,
                std::vector<uint8_t>* out) {
    const TensorView* image = batch.devices[d].Find("image");
    ASSERT_NE(image, nullptr);
    ASSERT_EQ(image->memory, MemoryKind::kCuda);
    out->resize(image->num_bytes);
    auto stream = static_cast<cudaStream_t>(streams_[d]);
    ASSERT_EQ(cudaSetDevice(d), cudaSuccess);
    if (slow) {
      ASSERT_EQ(cudaLaunchHostFunc(stream, SlowStep, nullptr), cudaSuccess);
    }
    ASSERT_EQ(cudaMemcpyAsync(out->data(), image->data, image->num_bytes,
                              cudaMemcpyDeviceToHost, stream),
              cudaSuccess);
  }

  std::vector<uint8_t> Expected(uint64_t sequence, int d) const {
    return ExpectedImageSlice(sequence, d, kBatch / devices_,
                              kImageBytesPerExample);
  }

  int devices_ = 0;
  std::vector<void*> streams_;
};

TEST_F(ClientGpuTest, SlowStreamsReadTheirOwnBatches) {
  auto server = FakeInputServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = Client::Create(Options(*server, /*streams=*/true));
  ASSERT_TRUE(client.ok()) << client.status();
  constexpr int kSteps = 12;
  std::vector<std::vector<std::vector<uint8_t>>> seen(
      kSteps, std::vector<std::vector<uint8_t>>(devices_));
  std::vector<uint64_t> sequences;
  for (int step = 0; step < kSteps; ++step) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    sequences.push_back((*batch)->sequence);
    for (int d = 0; d < devices_; ++d) {
      ReadBack(**batch, d, /*slow=*/true, &seen[step][d]);
    }
  }
  for (int d = 0; d < devices_; ++d) {
    ASSERT_EQ(cudaStreamSynchronize(static_cast<cudaStream_t>(streams_[d])),
              cudaSuccess);
  }
  for (int step = 0; step < kSteps; ++step) {
    for (int d = 0; d < devices_; ++d) {
      EXPECT_EQ(seen[step][d], Expected(sequences[step], d))
          << "step " << step << " device " << d;
    }
  }
  EXPECT_GT((*client)->stats().h2d_bytes, 0u);
}

TEST_F(ClientGpuTest, WithoutStreamsNextReturnsCompleteBatches) {
  auto server = FakeInputServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = Client::Create(Options(*server, /*streams=*/false));
  ASSERT_TRUE(client.ok()) << client.status();
  for (int step = 0; step < 5; ++step) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (int d = 0; d < devices_; ++d) {
      const TensorView* image = (*batch)->devices[d].Find("image");
      std::vector<uint8_t> bytes(image->num_bytes);
      ASSERT_EQ(cudaSetDevice(d), cudaSuccess);
      ASSERT_EQ(cudaMemcpy(bytes.data(), image->data, bytes.size(),
                           cudaMemcpyDeviceToHost),
                cudaSuccess);
      EXPECT_EQ(bytes, Expected((*batch)->sequence, d)) << "device " << d;
    }
  }
}

TEST_F(ClientGpuTest, SyntheticModeCopiesNothingAfterTheUpload) {
  FakeServerOptions options;
  options.mode = v1::MODE_SYNTHETIC;
  auto server = FakeInputServer::Start(options);
  ASSERT_NE(server, nullptr);
  auto client = Client::Create(Options(*server, /*streams=*/true));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<const Batch*> first = (*client)->Next();
  ASSERT_TRUE(first.ok()) << first.status();
  const uint64_t uploaded = (*client)->stats().h2d_bytes;
  EXPECT_EQ(uploaded, devices_ * (kBatch / devices_) *
                          (kImageBytesPerExample + sizeof(int32_t)));
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE((*client)->Next().ok());
  EXPECT_EQ((*client)->stats().h2d_bytes, uploaded);
  std::vector<uint8_t> seen;
  for (int d = 0; d < devices_; ++d) {
    ReadBack(**first, d, /*slow=*/false, &seen);
    ASSERT_EQ(cudaStreamSynchronize(static_cast<cudaStream_t>(streams_[d])),
              cudaSuccess);
    EXPECT_EQ(seen, Expected(0, 0)) << "device " << d << " holds slice 0";
  }
}

}  // namespace
}  // namespace inputserve::testing
