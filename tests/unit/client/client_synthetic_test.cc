// The synthetic cache: after the first synthetic batch the client serves the
// cached per-device slice with no network traffic and no allocation, and goes
// back to streaming when the server flips to real.
#include <atomic>
#include <cstdlib>
#include <new>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "tests/unit/client/client_test_util.h"
#include "tests/unit/client/fake_input_server.h"

// Counts allocations made by the current thread, to prove Next()'s cache path
// allocates nothing (other threads, e.g. gRPC's, are not counted).
namespace {
thread_local uint64_t tls_allocations = 0;
}  // namespace

// noinline: inlined into std::allocator, GCC 12 at -O3 pairs malloc() with
// operator delete (or free() with operator new) and fails the build with
// -Werror=mismatched-new-delete, a false positive: both are replaced here.
__attribute__((noinline)) void* operator new(size_t n) {
  ++tls_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace inputserve::testing {
namespace {

constexpr size_t kImageBytesPerExample = 4 * 4 * 3;

// Calls Next() until a batch in `mode` arrives. Batches are tiny, so gRPC may
// hold hundreds of the old mode in its buffers: bound by time, not calls.
const Batch* NextInMode(Client& client, BatchMode mode) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    absl::StatusOr<const Batch*> batch = client.Next();
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok()) return nullptr;
    if ((*batch)->mode == mode) return *batch;
  }
  ADD_FAILURE() << "no batch in the wanted mode within 5s";
  return nullptr;
}

TEST(ClientSyntheticTest, CachesSliceZeroClosesStreamsAndServesFromCache) {
  auto fake = FakeInputServer::Start({});
  ASSERT_NE(fake, nullptr);
  ClientOptions o = FastOptions({fake->target()});
  o.num_devices = 2;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_NE(NextInMode(**client, BatchMode::kReal), nullptr);

  fake->SetMode(v1::MODE_SYNTHETIC);
  const Batch* cached = NextInMode(**client, BatchMode::kSynthetic);
  ASSERT_NE(cached, nullptr);
  EXPECT_TRUE(cached->from_cache);
  EXPECT_EQ(cached->mode_generation, 2u);
  // Both devices hold slice 0 of the synthetic batch (sequence 0).
  ExpectBatchContents(*cached, 0, 0, 8, kImageBytesPerExample,
                      /*slice_zero=*/true);
  EXPECT_NE(cached->devices[0].tensors[0].data,
            cached->devices[1].tensors[0].data);

  // The data stream was cancelled, and the server saw it.
  EXPECT_TRUE(
      WaitFor([&] { return fake->active_streams() == 0; }, absl::Seconds(5)));
  EXPECT_GE(fake->cancelled_streams(), 1);
  const ClientStats before = (*client)->stats();
  EXPECT_EQ(before.synthetic_uploads, 1u);
  EXPECT_EQ(before.mode, BatchMode::kSynthetic);

  const uint64_t allocations = tls_allocations;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok());
    ASSERT_EQ(*batch, cached);
  }
  EXPECT_EQ(tls_allocations, allocations) << "Next() allocated in cache mode";
  // Nothing may arrive: a short grace lets a stray stream show itself.
  absl::SleepFor(absl::Milliseconds(100));
  const ClientStats after = (*client)->stats();
  EXPECT_EQ(after.bytes_received, before.bytes_received);
  EXPECT_EQ(after.batches_received, before.batches_received);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1000);
  EXPECT_EQ(after.batches, before.batches + 1000);
  EXPECT_EQ(fake->active_streams(), 0);
  ExpectBatchContents(*cached, 0, 0, 8, kImageBytesPerExample, true);
}

TEST(ClientSyntheticTest, CachedNextIsWellUnderAMicrosecond) {
  FakeServerOptions fo;
  fo.mode = v1::MODE_SYNTHETIC;
  auto fake = FakeInputServer::Start(fo);
  ASSERT_NE(fake, nullptr);
  auto client = Client::Create(FastOptions({fake->target()}));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_NE(NextInMode(**client, BatchMode::kSynthetic), nullptr);
  constexpr int kCalls = 200000;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    if (!(*client)->Next().ok()) FAIL();
  }
  const double per_call_ns =
      absl::ToDoubleNanoseconds(absl::Now() - start) / kCalls;
  RecordProperty("cached_next_ns", std::to_string(per_call_ns));
  EXPECT_LT(per_call_ns, 1000.0);
}

TEST(ClientSyntheticTest, FlipBackToRealResumesStreamingWithinASecond) {
  FakeServerOptions fo;
  fo.mode = v1::MODE_SYNTHETIC;
  auto fake = FakeInputServer::Start(fo);
  ASSERT_NE(fake, nullptr);
  ClientOptions o = FastOptions({fake->target()});
  o.num_devices = 2;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  const Batch* cached = NextInMode(**client, BatchMode::kSynthetic);
  ASSERT_NE(cached, nullptr);
  EXPECT_TRUE(
      WaitFor([&] { return fake->active_streams() == 0; }, absl::Seconds(5)));

  const absl::Time flipped = absl::Now();
  fake->SetMode(v1::MODE_REAL);
  const Batch* real = nullptr;
  while (absl::Now() - flipped < absl::Seconds(5)) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    if ((*batch)->mode == BatchMode::kReal) {
      real = *batch;
      break;
    }
  }
  const absl::Duration took = absl::Now() - flipped;
  ASSERT_NE(real, nullptr);
  EXPECT_LT(took, absl::Seconds(1));
  EXPECT_FALSE(real->from_cache);
  EXPECT_EQ(real->mode_generation, 2u);
  ExpectBatchContents(*real, 0, real->sequence, 8, kImageBytesPerExample);
  EXPECT_EQ((*client)->stats().mode, BatchMode::kReal);
  EXPECT_GE(fake->active_streams(), 1);

  // And into synthetic again: a second upload.
  fake->SetMode(v1::MODE_SYNTHETIC);
  const Batch* again = NextInMode(**client, BatchMode::kSynthetic);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->mode_generation, 3u);
  EXPECT_EQ((*client)->stats().synthetic_uploads, 2u);
}

TEST(ClientSyntheticTest, UnsplitBatchIsCachedWhole) {
  FakeServerOptions fo;
  fo.mode = v1::MODE_SYNTHETIC;
  auto fake = FakeInputServer::Start(fo);
  ASSERT_NE(fake, nullptr);
  auto client = Client::Create(FastOptions({fake->target()}));
  ASSERT_TRUE(client.ok()) << client.status();
  const Batch* cached = NextInMode(**client, BatchMode::kSynthetic);
  ASSERT_NE(cached, nullptr);
  ASSERT_EQ(cached->devices.size(), 1u);
  EXPECT_EQ(cached->devices[0].device, -1);
  ExpectBatchContents(*cached, 0, 0, 8, kImageBytesPerExample, true);
}

TEST(ClientSyntheticTest, WithoutCachingSyntheticBatchesKeepStreaming) {
  FakeServerOptions fo;
  fo.mode = v1::MODE_SYNTHETIC;
  auto fake = FakeInputServer::Start(fo);
  ASSERT_NE(fake, nullptr);
  ClientOptions o = FastOptions({fake->target()});
  o.cache_synthetic = false;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ((*batch)->mode, BatchMode::kSynthetic);
    EXPECT_FALSE((*batch)->from_cache);
    ExpectBatchContents(**batch, 0, 0, 8, kImageBytesPerExample);
  }
  const ClientStats s = (*client)->stats();
  EXPECT_GE(s.batches_received, 5u);
  EXPECT_EQ(s.cache_hits, 0u);
  EXPECT_EQ(s.synthetic_uploads, 0u);
  EXPECT_EQ(fake->active_streams(), 1);
}

}  // namespace
}  // namespace inputserve::testing
