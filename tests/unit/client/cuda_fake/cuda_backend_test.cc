// CudaBackend against the recording fake runtime: batch memory is never
// written while the trainer's stream may still read it, the next batch's
// copy runs while the trainer still holds (and computes on) the last one,
// the synthetic cache costs one upload per device, every runtime error
// becomes a Status naming the call and the device, and nothing leaks.
#include "client/device/cuda_backend.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "client/device/backend.h"
#include "gtest/gtest.h"
#include "tests/unit/client/fake_cuda_runtime.h"
#include "tests/unit/client/image_label_specs.h"

namespace inputserve::client_internal {
namespace {

namespace fake = cuda::fake;

constexpr int kBatch = 8;
constexpr int kDevices = 2;

bool WaitFor(const std::function<bool()>& done, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake::Reset(kDevices);
    baseline_ = fake::Live();
    absl::StatusOr<BatchLayout> layout = BatchLayout::Create(
        kBatch, inputserve::testing::ImageLabelSpecs(kBatch, 4, 4), kDevices);
    ASSERT_TRUE(layout.ok()) << layout.status();
    layout_ = std::make_unique<BatchLayout>(*std::move(layout));
  }
  void TearDown() override {
    for (size_t d = 0; d < trainer_streams_.size(); ++d) {
      cuda::DestroyStream(static_cast<int>(d), trainer_streams_[d]);
    }
    EXPECT_TRUE(fake::Live() == baseline_)
        << "leaked streams, events or memory";
    EXPECT_TRUE(fake::Hazards().empty()) << fake::Hazards()[0];
  }

  // The trainer's streams, one per device.
  std::vector<void*> TrainerStreams() {
    for (int d = 0; d < kDevices; ++d) {
      void* stream = nullptr;
      EXPECT_EQ(cuda::CreateStream(d, &stream), "");
      trainer_streams_.push_back(stream);
    }
    return trainer_streams_;
  }

  std::unique_ptr<CudaBackend> Make(bool with_streams, int depth = 2) {
    CudaBackendOptions options;
    options.num_devices = kDevices;
    options.ring_depth = depth;
    if (with_streams) options.trainer_streams = TrainerStreams();
    absl::StatusOr<std::unique_ptr<CudaBackend>> backend =
        CudaBackend::Create(options, layout_.get());
    EXPECT_TRUE(backend.ok()) << backend.status();
    return backend.ok() ? *std::move(backend) : nullptr;
  }

  void SyncTrainer() {
    for (size_t d = 0; d < trainer_streams_.size(); ++d) {
      ASSERT_EQ(cuda::Synchronize(static_cast<int>(d), trainer_streams_[d]),
                "");
    }
  }

  // A batch whose every byte says which batch it is.
  std::vector<uint8_t> Batch(uint8_t tag) const {
    return std::vector<uint8_t>(layout_->payload_bytes(), tag);
  }

  // A batch whose bytes count up, so every slice differs.
  std::vector<uint8_t> CountingBatch() const {
    std::vector<uint8_t> batch(layout_->payload_bytes());
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i] = static_cast<uint8_t>(i);
    }
    return batch;
  }

  // Device d's pointer of each tensor holds slice d of it.
  void ExpectSlicesOnDevices(const std::vector<uint8_t>& batch,
                             const DevicePointers& ptrs) const {
    for (int d = 0; d < kDevices; ++d) {
      for (size_t t = 0; t < layout_->tensors().size(); ++t) {
        const TensorPlacement& p = layout_->tensors()[t];
        EXPECT_EQ(
            std::memcmp(ptrs[d][t], batch.data() + p.offset + d * p.slice_bytes,
                        p.slice_bytes),
            0)
            << "device " << d << " tensor " << t;
      }
    }
  }

  DevicePointers Pointers() const {
    return DevicePointers(kDevices, std::vector<void*>(2, nullptr));
  }

  size_t image_slice_bytes() const { return layout_->tensors()[0].slice_bytes; }

  std::unique_ptr<BatchLayout> layout_;
  std::vector<void*> trainer_streams_;
  fake::LiveObjects baseline_;
};

TEST_F(CudaBackendTest, NoSlotIsWrittenWhileTheTrainersStreamMayReadIt) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/true);
  ASSERT_NE(backend, nullptr);
  // Steps as a trainer with a slow stream does them: take a batch, queue a
  // long kernel on it, release it at once (its work is still queued).
  constexpr int kSteps = 6;
  std::vector<std::vector<uint8_t>> batches;
  std::vector<std::vector<uint8_t>> seen(kSteps);
  for (int step = 0; step < kSteps; ++step) {
    batches.push_back(Batch(static_cast<uint8_t>(0x10 + step)));
    DevicePointers ptrs = Pointers();
    absl::StatusOr<DeviceLease> lease =
        backend->Place(batches.back().data(), &ptrs);
    ASSERT_TRUE(lease.ok()) << lease.status();
    fake::LaunchRead(0, trainer_streams_[0], ptrs[0][0], image_slice_bytes(),
                     absl::Milliseconds(60), &seen[step]);
    lease->reset();
  }
  ASSERT_EQ(cuda::Synchronize(0, trainer_streams_[0]), "");
  EXPECT_TRUE(fake::Hazards().empty()) << fake::Hazards()[0];
  for (int step = 0; step < kSteps; ++step) {
    EXPECT_EQ(seen[step],
              std::vector<uint8_t>(image_slice_bytes(),
                                   static_cast<uint8_t>(0x10 + step)))
        << "the kernel of step " << step << " read another batch's bytes";
  }
  EXPECT_EQ(backend->ring_size(0), 2) << "a depth-2 ring served every step";
}

TEST_F(CudaBackendTest, NextBatchIsCopiedWhileTheTrainerStillHoldsTheLast) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/true);
  ASSERT_NE(backend, nullptr);
  std::vector<uint8_t> first = Batch(1), second = Batch(2);
  DevicePointers a = Pointers(), b = Pointers();
  absl::StatusOr<DeviceLease> lease_a = backend->Place(first.data(), &a);
  ASSERT_TRUE(lease_a.ok()) << lease_a.status();
  std::vector<uint8_t> seen;
  fake::LaunchRead(0, trainer_streams_[0], a[0][0], image_slice_bytes(),
                   absl::Seconds(3), &seen);
  const int host_waits = fake::Count("cudaEventSynchronize") +
                         fake::Count("cudaStreamSynchronize");
  const absl::Time before = absl::Now();
  absl::StatusOr<DeviceLease> lease_b = backend->Place(second.data(), &b);
  ASSERT_TRUE(lease_b.ok()) << lease_b.status();
  EXPECT_LT(absl::Now() - before, absl::Milliseconds(500));
  EXPECT_EQ(fake::Count("cudaEventSynchronize") +
                fake::Count("cudaStreamSynchronize"),
            host_waits)
      << "Place() waited on the host";
  // Batch 2 lands on every device while the kernel on batch 1 still runs.
  const uint64_t both = 2 * kDevices * layout_->slice_payload_bytes();
  EXPECT_TRUE(
      WaitFor([&] { return fake::CopiedBytes() == both; }, absl::Seconds(2)));
  EXPECT_TRUE(seen.empty()) << "the trainer's kernel ended before the copy";
  EXPECT_EQ(std::memcmp(b[1][0], second.data() + 0 + image_slice_bytes(), 1),
            0);
  // The copies of batch 2 were queued before batch 1 was released, and the
  // trainer's stream waits for them on the GPU.
  lease_a->reset();
  const std::vector<fake::Call> log = fake::Log();
  int last_copy = -1, release = -1, trainer_waits = 0;
  for (int i = 0; i < static_cast<int>(log.size()); ++i) {
    if (log[i].name == "cudaMemcpyAsync") last_copy = i;
    if (log[i].name == "cudaEventRecord" &&
        log[i].stream == trainer_streams_[0] && release < 0) {
      release = i;
    }
    if (log[i].name == "cudaStreamWaitEvent" &&
        log[i].stream == trainer_streams_[0]) {
      ++trainer_waits;
    }
  }
  EXPECT_LT(last_copy, release);
  EXPECT_EQ(trainer_waits, 2);
  lease_b->reset();
  ASSERT_EQ(cuda::Synchronize(0, trainer_streams_[0]), "");
  EXPECT_EQ(seen, std::vector<uint8_t>(image_slice_bytes(), 1));
}

TEST_F(CudaBackendTest, RingGrowsWhileTheTrainerHoldsMoreBatches) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/true, 2);
  ASSERT_NE(backend, nullptr);
  std::vector<std::vector<uint8_t>> batches;
  std::vector<DeviceLease> held;
  std::vector<void*> seen_buffers;
  for (int i = 0; i < 5; ++i) {
    batches.push_back(Batch(static_cast<uint8_t>(i)));
    DevicePointers ptrs = Pointers();
    absl::StatusOr<DeviceLease> lease =
        backend->Place(batches.back().data(), &ptrs);
    ASSERT_TRUE(lease.ok()) << lease.status();
    held.push_back(*std::move(lease));
    for (void* p : seen_buffers) EXPECT_NE(p, ptrs[0][0]);
    seen_buffers.push_back(ptrs[0][0]);
  }
  EXPECT_EQ(backend->ring_size(0), 5);
  EXPECT_EQ(backend->ring_size(1), 5);
  ASSERT_EQ(cuda::Synchronize(0, trainer_streams_[0]), "");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(static_cast<uint8_t*>(seen_buffers[i])[0], i);
  }
  held.clear();
  // The grown ring is kept; released slots serve again without growing.
  DevicePointers ptrs = Pointers();
  absl::StatusOr<DeviceLease> again = backend->Place(batches[0].data(), &ptrs);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(backend->ring_size(0), 5);
}

TEST_F(CudaBackendTest, WithoutTrainerStreamsPlaceReturnsACompleteBatch) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/false);
  ASSERT_NE(backend, nullptr);
  fake::SetCopyDelay(absl::Milliseconds(20));
  std::vector<uint8_t> batch = CountingBatch();
  DevicePointers ptrs = Pointers();
  absl::StatusOr<DeviceLease> lease = backend->Place(batch.data(), &ptrs);
  ASSERT_TRUE(lease.ok()) << lease.status();
  ExpectSlicesOnDevices(batch, ptrs);
  EXPECT_EQ(fake::Count("cudaEventSynchronize"), kDevices);
  EXPECT_EQ(fake::Count("cudaStreamSynchronize"), 0);
  EXPECT_EQ(backend->h2d_bytes(), batch.size());
}

TEST_F(CudaBackendTest, SyntheticCacheIsOneUploadPerDevice) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/true);
  ASSERT_NE(backend, nullptr);
  std::vector<uint8_t> batch = Batch(7);
  DevicePointers ptrs = Pointers();
  absl::StatusOr<DeviceLease> cache = backend->BuildCache(batch.data(), &ptrs);
  ASSERT_TRUE(cache.ok()) << cache.status();
  EXPECT_EQ(backend->h2d_bytes(), kDevices * layout_->slice_payload_bytes());
  EXPECT_EQ(fake::Count("cudaMemcpyAsync"), kDevices * 2);  // 2 tensors.
  EXPECT_NE(ptrs[0][0], ptrs[1][0]);
  // The trainer's kernels on the cache hold its memory past the drop.
  fake::LaunchRead(1, trainer_streams_[1], ptrs[1][0], image_slice_bytes(),
                   absl::Milliseconds(50), nullptr);
  cache->reset();
  EXPECT_TRUE(fake::Hazards().empty()) << fake::Hazards()[0];
}

TEST_F(CudaBackendTest, LeasesMayOutliveTheBackend) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/true);
  ASSERT_NE(backend, nullptr);
  std::vector<uint8_t> batch = Batch(3);
  DevicePointers ptrs = Pointers(), cache_ptrs = Pointers();
  absl::StatusOr<DeviceLease> lease = backend->Place(batch.data(), &ptrs);
  absl::StatusOr<DeviceLease> cache =
      backend->BuildCache(batch.data(), &cache_ptrs);
  ASSERT_TRUE(lease.ok() && cache.ok());
  backend.reset();
  ASSERT_EQ(cuda::Synchronize(0, trainer_streams_[0]), "");
  EXPECT_EQ(static_cast<uint8_t*>(ptrs[0][0])[0], 3);
  EXPECT_GT(fake::Live().device_buffers, baseline_.device_buffers);
  lease->reset();
  cache->reset();
  // TearDown checks that everything is gone now.
}

TEST_F(CudaBackendTest, SlicesAreCopiedAsSoonAsTheirBytesArrive) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/true);
  ASSERT_NE(backend, nullptr);
  std::vector<uint8_t> batch = CountingBatch();
  const TensorPlacement& image = layout_->tensors()[0];
  backend->BeginArrival(batch.data());
  backend->BytesArrived(batch.data(), image.slice_bytes - 1);
  EXPECT_EQ(fake::Count("cudaMemcpyAsync"), 0) << "copied an incomplete slice";
  backend->BytesArrived(batch.data(), image.slice_bytes);
  EXPECT_EQ(fake::Count("cudaMemcpyAsync", 0), 1);  // Device 0's images.
  EXPECT_EQ(fake::Count("cudaMemcpyAsync", 1), 0);
  backend->BytesArrived(batch.data(), batch.size());
  EXPECT_EQ(fake::Count("cudaMemcpyAsync"), 2 * kDevices);
  EXPECT_TRUE(WaitFor([&] { return fake::CopiedBytes() == batch.size(); },
                      absl::Seconds(5)))
      << "the copies ran before anyone asked for the batch";
  // Place() finds it all on its way: it only publishes the copies.
  DevicePointers ptrs = Pointers();
  absl::StatusOr<DeviceLease> lease = backend->Place(batch.data(), &ptrs);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(fake::Count("cudaMemcpyAsync"), 2 * kDevices);
  EXPECT_EQ(backend->h2d_bytes(), batch.size());
  SyncTrainer();
  ExpectSlicesOnDevices(batch, ptrs);
}

TEST_F(CudaBackendTest, AbandonedOrFailedArrivalsCostNothingLater) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/true, 2);
  ASSERT_NE(backend, nullptr);
  std::vector<uint8_t> batch = Batch(9);
  for (int i = 0; i < 10; ++i) {
    backend->BeginArrival(batch.data());
    backend->BytesArrived(batch.data(), batch.size() / 2);
    backend->AbandonArrival(batch.data());
  }
  // A buffer refilled without being placed gives its slots back too.
  backend->BeginArrival(batch.data());
  backend->BytesArrived(batch.data(), batch.size());
  backend->BeginArrival(batch.data());
  EXPECT_EQ(backend->ring_size(0), 2);
  // A failed early copy is made again, and reported, by Place().
  fake::FailNext("cudaMemcpyAsync", 1);
  backend->BytesArrived(batch.data(), batch.size());
  DevicePointers ptrs = Pointers();
  absl::StatusOr<DeviceLease> lease = backend->Place(batch.data(), &ptrs);
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_EQ(cuda::Synchronize(1, trainer_streams_[1]), "");
  EXPECT_EQ(static_cast<uint8_t*>(ptrs[1][1])[0], 9);
  EXPECT_EQ(backend->ring_size(1), 2);
}

TEST_F(CudaBackendTest, ABufferRefilledUnannouncedIsCopiedAfresh) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/true);
  ASSERT_NE(backend, nullptr);
  std::vector<uint8_t> buffer = Batch(1);
  backend->BeginArrival(buffer.data());
  backend->BytesArrived(buffer.data(), buffer.size());
  // The batch is dropped unplaced; another one lands in the same buffer
  // without early copies (a synthetic batch, say).
  backend->AbandonArrival(buffer.data());
  std::fill(buffer.begin(), buffer.end(), 2);
  DevicePointers ptrs = Pointers();
  absl::StatusOr<DeviceLease> lease = backend->Place(buffer.data(), &ptrs);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(fake::Count("cudaMemcpyAsync"), 2 * 2 * kDevices);
  SyncTrainer();
  ExpectSlicesOnDevices(buffer, ptrs);
}

TEST_F(CudaBackendTest, AReleaseThatCannotRecordWaitsForTheTrainerOnTheHost) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/true, 2);
  ASSERT_NE(backend, nullptr);
  std::vector<uint8_t> batch = Batch(5);
  DevicePointers ptrs = Pointers();
  absl::StatusOr<DeviceLease> lease = backend->Place(batch.data(), &ptrs);
  ASSERT_TRUE(lease.ok()) << lease.status();
  std::vector<uint8_t> seen;
  fake::LaunchRead(0, trainer_streams_[0], ptrs[0][0], image_slice_bytes(),
                   absl::Milliseconds(50), &seen);
  fake::FailNext("cudaEventRecord", 0);
  lease->reset();
  EXPECT_EQ(fake::Count("cudaStreamSynchronize", 0), 1);
  EXPECT_FALSE(seen.empty()) << "the release returned before the kernel ended";
  // The slot serves again, safely (TearDown checks for hazards).
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(backend->Place(batch.data(), &ptrs).ok());
  }
  EXPECT_EQ(backend->ring_size(0), 2);
}

// Every runtime call the backend makes, failing on device 1, gives a Status
// naming the call and the device, and leaves nothing behind.
struct FailCase {
  const char* call;
  const char* stage;  // "create", "place", "place_host", "cache".
};

class CudaBackendErrorTest : public CudaBackendTest,
                             public ::testing::WithParamInterface<FailCase> {};

TEST_P(CudaBackendErrorTest, ErrorNamesTheCallAndTheDevice) {
  const FailCase& c = GetParam();
  const std::string stage = c.stage;
  const bool with_streams = stage != "place_host";
  absl::Status status;
  if (stage == "create") {
    fake::FailNext(c.call, 1);
    CudaBackendOptions options;
    options.num_devices = kDevices;
    absl::StatusOr<std::unique_ptr<CudaBackend>> backend =
        CudaBackend::Create(options, layout_.get());
    status = backend.status();
  } else {
    std::unique_ptr<CudaBackend> backend = Make(with_streams);
    ASSERT_NE(backend, nullptr);
    std::vector<uint8_t> batch = Batch(1);
    DevicePointers ptrs = Pointers();
    if (stage == "cache") {
      fake::FailNext(c.call, 1);
      status = backend->BuildCache(batch.data(), &ptrs).status();
    } else {
      // A first batch, released, so the second Place waits on its event.
      ASSERT_TRUE(backend->Place(batch.data(), &ptrs).ok());
      ASSERT_TRUE(backend->Place(batch.data(), &ptrs).ok());
      fake::FailNext(c.call, 1);
      status = backend->Place(batch.data(), &ptrs).status();
      // The backend still works after the error.
      EXPECT_TRUE(backend->Place(batch.data(), &ptrs).ok());
    }
  }
  ASSERT_FALSE(status.ok()) << c.call << " at " << stage;
  EXPECT_NE(status.message().find(c.call), std::string::npos) << status;
  EXPECT_NE(status.message().find("CUDA device 1"), std::string::npos)
      << status;
}

INSTANTIATE_TEST_SUITE_P(
    EveryCall, CudaBackendErrorTest,
    ::testing::Values(FailCase{"cudaStreamCreateWithFlags", "create"},
                      FailCase{"cudaMalloc", "create"},
                      FailCase{"cudaEventCreateWithFlags", "create"},
                      FailCase{"cudaStreamWaitEvent", "place"},
                      FailCase{"cudaMemcpyAsync", "place"},
                      FailCase{"cudaEventRecord", "place"},
                      FailCase{"cudaEventSynchronize", "place_host"},
                      FailCase{"cudaMalloc", "cache"},
                      FailCase{"cudaEventCreateWithFlags", "cache"},
                      FailCase{"cudaMemcpyAsync", "cache"},
                      FailCase{"cudaEventSynchronize", "cache"}),
    [](const ::testing::TestParamInfo<FailCase>& info) {
      return std::string(info.param.call) + "_" + info.param.stage;
    });

TEST_F(CudaBackendTest, PinnedAllocationErrorIsResourceExhausted) {
  std::unique_ptr<CudaBackend> backend = Make(/*with_streams=*/false);
  ASSERT_NE(backend, nullptr);
  fake::FailNext("cudaHostAlloc");
  absl::StatusOr<void*> host = backend->AllocateHost(100);
  EXPECT_EQ(host.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(host.status().message().find("cudaHostAlloc"), std::string::npos);
  host = backend->AllocateHost(100);
  ASSERT_TRUE(host.ok());
  backend->FreeHost(*host);
}

TEST_F(CudaBackendTest, TooFewGpusIsAFailedPrecondition) {
  fake::Reset(1);
  CudaBackendOptions options;
  options.num_devices = kDevices;
  absl::StatusOr<std::unique_ptr<CudaBackend>> backend =
      CudaBackend::Create(options, layout_.get());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(backend.status().message().find("needs 2 GPUs but 1"),
            std::string::npos)
      << backend.status();
}

TEST_F(CudaBackendTest, BadDeviceOptionsAreNamed) {
  ClientOptions options;
  options.num_devices = kDevices;
  options.device_kind = DeviceKind::kCuda;
  options.device_ring_depth = 1;
  absl::StatusOr<std::unique_ptr<DeviceBackend>> backend =
      CreateDeviceBackend(options, layout_.get());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(backend.status().message().find("device_ring_depth"),
            std::string::npos);
  options.device_ring_depth = 3;
  options.cuda_streams = {nullptr};
  backend = CreateDeviceBackend(options, layout_.get());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(backend.status().message().find("cuda_streams has 1"),
            std::string::npos);
  options.cuda_streams.clear();
  backend = CreateDeviceBackend(options, layout_.get());
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_EQ((*backend)->memory_kind(), MemoryKind::kCuda);
}

}  // namespace
}  // namespace inputserve::client_internal
