#include "server/pipeline/prefetch_queue.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace inputserve {
namespace {

BatchPtr MakeBatch(uint64_t sequence) {
  auto b = std::make_shared<PipelineBatch>();
  b->sequence = sequence;
  return b;
}

TEST(PrefetchQueueTest, FifoWithinCapacity) {
  size_t last_depth = 99;
  PrefetchQueue q(3, [&](size_t d) { last_depth = d; });
  ASSERT_TRUE(q.Push(MakeBatch(1)));
  ASSERT_TRUE(q.Push(MakeBatch(2)));
  EXPECT_EQ(last_depth, 2u);
  EXPECT_EQ(q.Pop()->sequence, 1u);
  EXPECT_EQ(q.Pop()->sequence, 2u);
  EXPECT_EQ(last_depth, 0u);
  EXPECT_EQ(q.Pop(absl::Milliseconds(10)), nullptr);
}

TEST(PrefetchQueueTest, PushBlocksWhenFullUntilAPop) {
  PrefetchQueue q(1);
  ASSERT_TRUE(q.Push(MakeBatch(1)));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    q.Push(MakeBatch(2));
    pushed = true;
  });
  absl::SleepFor(absl::Milliseconds(50));  // Grace for a wrong early push.
  EXPECT_FALSE(pushed);
  EXPECT_EQ(q.Pop()->sequence, 1u);
  producer.join();
  EXPECT_TRUE(pushed);
  EXPECT_EQ(q.Pop()->sequence, 2u);
}

TEST(PrefetchQueueTest, AsyncWaitersAreServedInOrderExactlyOnce) {
  PrefetchQueue q(4);
  std::vector<std::pair<int, uint64_t>> got;
  q.PopAsync([&](BatchPtr b) { got.push_back({1, b->sequence}); });
  q.PopAsync([&](BatchPtr b) { got.push_back({2, b->sequence}); });
  EXPECT_EQ(q.size(), 0u);
  q.Push(MakeBatch(10));
  q.Push(MakeBatch(11));
  q.Push(MakeBatch(12));  // no waiter left: queued
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(1, uint64_t{10}));
  EXPECT_EQ(got[1], std::make_pair(2, uint64_t{11}));
  EXPECT_EQ(q.size(), 1u);
  // A waiter registered while a batch is queued runs at once.
  EXPECT_EQ(q.PopAsync([&](BatchPtr b) { got.push_back({3, b->sequence}); }),
            0u);
  EXPECT_EQ(got.back(), std::make_pair(3, uint64_t{12}));
}

TEST(PrefetchQueueTest, CancelledWaiterNeverRuns) {
  PrefetchQueue q(2);
  bool ran = false;
  const uint64_t ticket = q.PopAsync([&](BatchPtr) { ran = true; });
  ASSERT_NE(ticket, 0u);
  EXPECT_TRUE(q.CancelWaiter(ticket));
  EXPECT_FALSE(q.CancelWaiter(ticket));
  q.Push(MakeBatch(1));
  EXPECT_FALSE(ran);
  EXPECT_EQ(q.size(), 1u);
}

TEST(PrefetchQueueTest, PushFrontIsHandedOutNext) {
  PrefetchQueue q(2);
  q.Push(MakeBatch(1));
  q.Push(MakeBatch(2));
  q.PushFront(MakeBatch(0));  // over capacity is allowed
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.Pop()->sequence, 0u);
  EXPECT_EQ(q.Pop()->sequence, 1u);
}

TEST(PrefetchQueueTest, CloseWakesEveryone) {
  PrefetchQueue q(1);
  BatchPtr seen = MakeBatch(7);
  bool called = false;
  q.PopAsync([&](BatchPtr b) {
    called = true;
    seen = b;
  });
  std::thread blocked_pop([&] { EXPECT_EQ(q.Pop(), nullptr); });
  absl::SleepFor(absl::Milliseconds(20));
  q.Close();
  blocked_pop.join();
  EXPECT_TRUE(called);
  EXPECT_EQ(seen, nullptr);
  EXPECT_FALSE(q.Push(MakeBatch(1)));
  EXPECT_TRUE(q.closed());
}

}  // namespace
}  // namespace inputserve

namespace inputserve {
namespace {

TEST(PayloadPoolTest, RecyclesBuffersUpToTheIdleLimit) {
  std::shared_ptr<PayloadPool> pool = PayloadPool::Create(1000, 2);
  const uint8_t* first;
  {
    std::shared_ptr<PayloadBuffer> a = pool->Acquire();
    EXPECT_EQ(a->size(), 1000u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a->data()) % 64, 0u);
    first = a->data();
  }
  EXPECT_EQ(pool->idle(), 1u);
  std::shared_ptr<PayloadBuffer> b = pool->Acquire();
  EXPECT_EQ(b->data(), first);  // reused, not allocated again
  EXPECT_EQ(pool->allocations(), 1u);
  {
    auto c = pool->Acquire();
    auto d = pool->Acquire();
    auto e = pool->Acquire();
  }
  EXPECT_EQ(pool->allocations(), 4u);
  EXPECT_EQ(pool->idle(), 2u);  // the third went back to the allocator
}

TEST(PayloadPoolTest, BuffersMayOutliveThePoolHandle) {
  std::shared_ptr<PayloadPool> pool = PayloadPool::Create(64, 1);
  std::shared_ptr<PayloadBuffer> buffer = pool->Acquire();
  std::weak_ptr<PayloadPool> watch = pool;
  pool.reset();
  // The buffer's deleter holds the pool: alive until the buffer returns.
  EXPECT_FALSE(watch.expired());
  buffer->data()[0] = 1;
  EXPECT_EQ(buffer->data()[0], 1);
  buffer.reset();
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace inputserve
