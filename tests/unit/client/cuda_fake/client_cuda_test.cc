// The whole client on "GPUs" of the fake CUDA runtime, reading from the
// in-process fake server, with the trainer's streams passed in: kernels the
// trainer queued on a batch read that batch's bytes however slow its stream
// is, held handles keep their memory, synthetic mode costs one upload per
// device and no host-to-device bytes afterwards, a short batch of the
// deterministic order lands split unevenly, and the client leaves no
// stream, event or buffer behind.
#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "tests/unit/client/client_test_util.h"
#include "tests/unit/client/expected_slices.h"
#include "tests/unit/client/fake_cuda_runtime.h"
#include "tests/unit/client/fake_input_server.h"

namespace inputserve::testing {
namespace {

namespace fake = client_internal::cuda::fake;
namespace cuda = client_internal::cuda;

constexpr int kDevices = 2;
constexpr int kBatch = 8;
constexpr int kPerDevice = kBatch / kDevices;
constexpr size_t kImageBytesPerExample = 4 * 4 * 3;
constexpr size_t kSliceBytes =
    kPerDevice * (kImageBytesPerExample + sizeof(int32_t));

// The image bytes device `d` must hold for batch `sequence`.
std::vector<uint8_t> ExpectedImage(uint64_t sequence, int d) {
  return ExpectedImageSlice(sequence, d, kPerDevice, kImageBytesPerExample);
}

class ClientCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake::Reset(kDevices);
    baseline_ = fake::Live();
    for (int d = 0; d < kDevices; ++d) {
      void* stream = nullptr;
      ASSERT_EQ(cuda::CreateStream(d, &stream), "");
      streams_.push_back(stream);
    }
  }
  void TearDown() override {
    for (int d = 0; d < kDevices; ++d) cuda::DestroyStream(d, streams_[d]);
    EXPECT_TRUE(fake::Live() == baseline_)
        << "leaked streams, events or memory";
    EXPECT_TRUE(fake::Hazards().empty()) << fake::Hazards()[0];
  }

  ClientOptions Options(const FakeInputServer& server) const {
    ClientOptions o = FastOptions({server.target()});
    o.num_devices = kDevices;
    o.device_kind = DeviceKind::kCuda;
    o.cuda_streams = streams_;
    o.device_ring_depth = 2;
    return o;
  }

  void SyncTrainer() {
    for (int d = 0; d < kDevices; ++d) {
      ASSERT_EQ(cuda::Synchronize(d, streams_[d]), "");
    }
  }

  std::vector<void*> streams_;
  fake::LiveObjects baseline_;
};

TEST_F(ClientCudaTest, KernelsReadTheirOwnBatchHoweverSlowTheTrainersStream) {
  auto server = FakeInputServer::Start({});
  ASSERT_NE(server, nullptr);
  {
    auto client = Client::Create(Options(*server));
    ASSERT_TRUE(client.ok()) << client.status();
    ASSERT_EQ((*client)->memory_kind(), MemoryKind::kCuda);
    constexpr int kSteps = 8;
    std::vector<std::vector<std::vector<uint8_t>>> seen(
        kSteps, std::vector<std::vector<uint8_t>>(kDevices));
    std::vector<uint64_t> sequences;
    for (int step = 0; step < kSteps; ++step) {
      absl::StatusOr<const Batch*> batch = (*client)->Next();
      ASSERT_TRUE(batch.ok()) << batch.status();
      sequences.push_back((*batch)->sequence);
      for (int d = 0; d < kDevices; ++d) {
        const TensorView* image = (*batch)->devices[d].Find("image");
        ASSERT_NE(image, nullptr);
        ASSERT_EQ(image->memory, MemoryKind::kCuda);
        // A slow step: the stream is busy long after Next() returns.
        fake::LaunchRead(d, streams_[d], image->data, image->num_bytes,
                         absl::Milliseconds(40), &seen[step][d]);
      }
    }
    SyncTrainer();
    EXPECT_TRUE(fake::Hazards().empty()) << fake::Hazards()[0];
    for (int step = 0; step < kSteps; ++step) {
      for (int d = 0; d < kDevices; ++d) {
        EXPECT_EQ(seen[step][d], ExpectedImage(sequences[step], d))
            << "step " << step << " device " << d
            << ": the kernel read bytes of another batch";
      }
    }
    EXPECT_GE((*client)->stats().h2d_bytes, kSteps * kDevices * kSliceBytes);
  }
}

TEST_F(ClientCudaTest, HeldHandlesKeepTheirDeviceMemory) {
  auto server = FakeInputServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = Client::Create(Options(*server));
  ASSERT_TRUE(client.ok()) << client.status();
  std::vector<std::shared_ptr<const Batch>> held;
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<std::shared_ptr<const Batch>> batch =
        (*client)->NextShared();
    ASSERT_TRUE(batch.ok()) << batch.status();
    held.push_back(*std::move(batch));
  }
  SyncTrainer();
  for (const auto& batch : held) {
    for (int d = 0; d < kDevices; ++d) {
      const TensorView* image = batch->devices[d].Find("image");
      const auto* bytes = static_cast<const uint8_t*>(image->data);
      EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + image->num_bytes),
                ExpectedImage(batch->sequence, d))
          << "batch " << batch->sequence << " device " << d;
    }
  }
  // A handle outliving the client still reads its batch.
  std::shared_ptr<const Batch> last = held.back();
  held.clear();
  client->reset();
  const TensorView* image = last->devices[1].Find("image");
  const auto* bytes = static_cast<const uint8_t*>(image->data);
  EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + image->num_bytes),
            ExpectedImage(last->sequence, 1));
  last.reset();
}

TEST_F(ClientCudaTest, NextBatchesAreCopiedBeforeTheTrainerReleasesItsBatch) {
  auto server = FakeInputServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = Client::Create(Options(*server));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<std::shared_ptr<const Batch>> held = (*client)->NextShared();
  ASSERT_TRUE(held.ok()) << held.status();
  // While the trainer holds its batch, the prefetched ones (2) are copied
  // to the devices as they arrive, without a call into the client.
  const uint64_t three = 3 * kDevices * kSliceBytes;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (fake::CopiedBytes() < three && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  EXPECT_GE(fake::CopiedBytes(), three);
  EXPECT_EQ(
      fake::Count("cudaEventRecord", 0) - fake::Count("cudaStreamWaitEvent", 0),
      0)
      << "only the held batch was published, and nothing released";
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::shared_ptr<const Batch>> next = (*client)->NextShared();
    ASSERT_TRUE(next.ok()) << next.status();
    SyncTrainer();
    for (int d = 0; d < kDevices; ++d) {
      const TensorView* image = (*next)->devices[d].Find("image");
      const auto* bytes = static_cast<const uint8_t*>(image->data);
      EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + image->num_bytes),
                ExpectedImage((*next)->sequence, d));
    }
  }
}

TEST_F(ClientCudaTest, SyntheticModeUploadsOncePerDeviceThenNothing) {
  FakeServerOptions options;
  options.mode = v1::MODE_SYNTHETIC;
  auto server = FakeInputServer::Start(options);
  ASSERT_NE(server, nullptr);
  auto client = Client::Create(Options(*server));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<const Batch*> first = (*client)->Next();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*first)->from_cache);
  EXPECT_EQ((*client)->stats().h2d_bytes, kDevices * kSliceBytes);
  EXPECT_EQ(fake::Count("cudaMemcpyAsync"), kDevices * 2);  // 2 tensors each.
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok());
    ASSERT_EQ(*batch, *first);
  }
  EXPECT_EQ((*client)->stats().h2d_bytes, kDevices * kSliceBytes);
  EXPECT_EQ(fake::Count("cudaMemcpyAsync"), kDevices * 2);
  EXPECT_EQ((*client)->stats().synthetic_uploads, 1u);
  SyncTrainer();
  for (int d = 0; d < kDevices; ++d) {
    const TensorView* image = (*first)->devices[d].Find("image");
    const auto* bytes = static_cast<const uint8_t*>(image->data);
    EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + image->num_bytes),
              ExpectedImage(0, 0))
        << "device " << d << " does not hold slice 0";
  }
}

TEST_F(ClientCudaTest, WithoutStreamsNextReturnsBatchesAlreadyOnTheDevice) {
  auto server = FakeInputServer::Start({});
  ASSERT_NE(server, nullptr);
  fake::SetCopyDelay(absl::Milliseconds(2));
  ClientOptions o = Options(*server);
  o.cuda_streams.clear();
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  for (int step = 0; step < 4; ++step) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    // No stream to synchronize: the bytes are there when Next() returns.
    for (int d = 0; d < kDevices; ++d) {
      const TensorView* image = (*batch)->devices[d].Find("image");
      const auto* bytes = static_cast<const uint8_t*>(image->data);
      EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + image->num_bytes),
                ExpectedImage((*batch)->sequence, d))
          << "step " << step << " device " << d;
    }
  }
  EXPECT_GE(fake::Count("cudaEventSynchronize"), 4 * kDevices);
}

TEST_F(ClientCudaTest, AShortDeterministicBatchLandsUnevenlyOnTheDevices) {
  // 21 examples: batches of 8, 8 and 5; the 5 split 3 + 2.
  FakeServerOptions shard;
  shard.deterministic = true;
  shard.examples_per_epoch = 21;
  auto server = FakeInputServer::Start(shard);
  ASSERT_NE(server, nullptr);
  ClientOptions o = Options(*server);
  o.cuda_streams.clear();
  o.ordering = Ordering::kDeterministic;
  o.drop_remainder = false;
  o.num_epochs = 1;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  for (uint64_t step = 0; step < 3; ++step) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_EQ((*batch)->step, step);
    const int rows = step < 2 ? kBatch : 5;
    const uint64_t sequence = FakeInputServer::OrderSequence(0, step);
    int first = 0;
    for (int d = 0; d < kDevices; ++d) {
      const int n = rows / kDevices + (d < rows % kDevices ? 1 : 0);
      const TensorView* image = (*batch)->devices[d].Find("image");
      const TensorView* label = (*batch)->devices[d].Find("label");
      ASSERT_EQ(image->shape[0], n);
      ASSERT_EQ(image->memory, MemoryKind::kCuda);
      ASSERT_EQ(label->num_bytes, n * sizeof(int32_t));
      const auto* pixels = static_cast<const uint8_t*>(image->data);
      for (size_t i = 0; i < image->num_bytes; ++i) {
        ASSERT_EQ(pixels[i],
                  FakeInputServer::ImageByte(0, sequence,
                                             first * kImageBytesPerExample + i))
            << "step " << step << " device " << d << " byte " << i;
      }
      const auto* labels = static_cast<const int32_t*>(label->data);
      for (int e = 0; e < n; ++e) {
        EXPECT_EQ(labels[e], FakeInputServer::Label(0, sequence, first + e))
            << "step " << step << " device " << d;
      }
      first += n;
    }
  }
  EXPECT_EQ((*client)->Next().status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(ClientCudaTest, CreateFailsWithTheCudaCallAndDevice) {
  auto server = FakeInputServer::Start({});
  ASSERT_NE(server, nullptr);
  fake::FailNext("cudaMalloc", 1);
  auto client = Client::Create(Options(*server));
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("CUDA device 1: cudaMalloc"),
            std::string::npos)
      << client.status();
}

}  // namespace
}  // namespace inputserve::testing
