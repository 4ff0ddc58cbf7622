#include "client/batch_queue.h"

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace inputserve::client_internal {
namespace {

using ::inputserve::testing::StatusIs;
using ::testing::HasSubstr;

std::unique_ptr<BatchQueue> MakeQueue(int slots, int* live) {
  auto queue = BatchQueue::Create(
      slots, 64,
      [live](size_t n) -> absl::StatusOr<void*> {
        ++*live;
        return std::malloc(n);
      },
      [live](void* p) {
        --*live;
        std::free(p);
      });
  return queue.ok() ? *std::move(queue) : nullptr;
}

TEST(BatchQueueTest, FifoAndBoundedPool) {
  int live = 0;
  {
    auto queue = MakeQueue(2, &live);
    ASSERT_NE(queue, nullptr);
    EXPECT_EQ(live, 2);
    Slot* a = queue->AcquireFree();
    Slot* b = queue->AcquireFree();
    ASSERT_NE(a, b);
    a->header.set_sequence(1);
    b->header.set_sequence(2);
    queue->PushReady(a);
    queue->PushReady(b);
    EXPECT_EQ(queue->PopReady(absl::Seconds(1))->header.sequence(), 1u);
    EXPECT_EQ(queue->PopReady(absl::Seconds(1))->header.sequence(), 2u);
    EXPECT_EQ(queue->PopReady(absl::Milliseconds(10)), nullptr);

    // The pool is empty until a slot is released: AcquireFree blocks.
    absl::Notification got;
    std::thread t([&] {
      Slot* s = queue->AcquireFree();
      EXPECT_NE(s, nullptr);
      got.Notify();
    });
    EXPECT_FALSE(got.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
    queue->Release(a);
    EXPECT_TRUE(got.WaitForNotificationWithTimeout(absl::Seconds(5)));
    t.join();
  }
  EXPECT_EQ(live, 0);
}

TEST(BatchQueueTest, NotAcceptingWakesAcquirersAndDrops) {
  int live = 0;
  auto queue = MakeQueue(1, &live);
  Slot* only = queue->AcquireFree();
  std::thread t([&] { EXPECT_EQ(queue->AcquireFree(), nullptr); });
  absl::SleepFor(absl::Milliseconds(20));
  queue->SetAccepting(false);
  t.join();
  queue->PushReady(only);  // Dropped back to the pool.
  EXPECT_EQ(queue->ready_count(), 0u);
  queue->SetAccepting(true);
  Slot* again = queue->AcquireFree();
  EXPECT_EQ(again, only);
  queue->PushReady(again);
  EXPECT_EQ(queue->ready_count(), 1u);
  queue->DrainReady();
  EXPECT_EQ(queue->ready_count(), 0u);
  EXPECT_NE(queue->AcquireFree(), nullptr);
}

TEST(BatchQueueTest, AtMostMaxAheadSlotsAreReadyOrFilling) {
  auto queue = BatchQueue::Create(
      3, 64, [](size_t n) -> absl::StatusOr<void*> { return std::malloc(n); },
      [](void* p) { std::free(p); }, /*max_ahead=*/2);
  ASSERT_TRUE(queue.ok()) << queue.status();
  BatchQueue& q = **queue;
  Slot* a = q.AcquireFree();
  Slot* b = q.AcquireFree();
  q.PushReady(a);
  // One ready, one filling: a third acquirer waits although a slot is free.
  absl::Notification got;
  Slot* c = nullptr;
  std::thread t([&] {
    c = q.AcquireFree();
    got.Notify();
  });
  EXPECT_FALSE(got.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  // An abandoned fill frees a place ahead.
  q.Abandon(b);
  ASSERT_TRUE(got.WaitForNotificationWithTimeout(absl::Seconds(5)));
  t.join();
  ASSERT_NE(c, nullptr);
  q.PushReady(c);
  EXPECT_EQ(q.ready_count(), 2u);
  // The reader takes one: that slot is its own, so one more may be filled.
  Slot* held = q.PopReady(absl::Seconds(1));
  ASSERT_NE(held, nullptr);
  Slot* d = q.AcquireFree();
  ASSERT_NE(d, nullptr);
  q.PushReady(d);
  q.Release(held);
  EXPECT_EQ(q.ready_count(), 2u);
}

TEST(BatchQueueTest, AllocationFailureIsReported) {
  int calls = 0;
  auto queue = BatchQueue::Create(
      3, 64,
      [&calls](size_t) -> absl::StatusOr<void*> {
        if (++calls == 2) return absl::ResourceExhaustedError("no memory");
        return std::malloc(64);
      },
      [](void* p) { std::free(p); });
  EXPECT_THAT(queue.status(), StatusIs(absl::StatusCode::kResourceExhausted,
                                       HasSubstr("2 of 3")));
}

TEST(BatchQueueTest, GrowsWhenTheReaderHoldsMoreThanItsShare) {
  int live = 0;
  {
    auto queue = BatchQueue::Create(
        3, 64,
        [&live](size_t n) -> absl::StatusOr<void*> {
          ++live;
          return std::malloc(n);
        },
        [&live](void* p) {
          --live;
          std::free(p);
        },
        /*max_ahead=*/2, /*grow_when_held=*/true);
    ASSERT_TRUE(queue.ok());
    std::vector<Slot*> held;
    for (int i = 0; i < 6; ++i) {
      Slot* s = (*queue)->AcquireFree();
      ASSERT_NE(s, nullptr);
      (*queue)->PushReady(s);
      held.push_back((*queue)->PopReady(absl::Seconds(1)));
      ASSERT_EQ(held.back(), s);
      // The streams always keep their two slots however many are held.
      EXPECT_EQ((*queue)->num_slots(), std::max<size_t>(3, held.size() + 2));
    }
    for (Slot* s : held) (*queue)->Release(s);
    // High-water size kept for reuse; nothing grows while nothing is held.
    const size_t size = (*queue)->num_slots();
    for (int i = 0; i < 20; ++i) {
      Slot* s = (*queue)->AcquireFree();
      (*queue)->PushReady(s);
      (*queue)->Release((*queue)->PopReady(absl::Seconds(1)));
    }
    EXPECT_EQ((*queue)->num_slots(), size);
    EXPECT_EQ(live, static_cast<int>(size));
  }
  EXPECT_EQ(live, 0);
}

v1::BatchHeader Step(uint64_t step, v1::Mode mode = v1::MODE_REAL) {
  v1::BatchHeader h;
  h.set_step(step);
  h.set_mode(mode);
  return h;
}

TEST(BatchQueueTest, StepOrderHandsOutByStepWithinABoundedWindow) {
  auto created = BatchQueue::Create(
      3, 64, [](size_t n) -> absl::StatusOr<void*> { return std::malloc(n); },
      [](void* p) { std::free(p); }, /*max_ahead=*/2);
  ASSERT_TRUE(created.ok());
  std::unique_ptr<BatchQueue> queue = *std::move(created);
  queue->SetOrdered(10);
  EXPECT_EQ(queue->next_step(), 10u);
  // Steps 10 and 11 fit the window; they arrive out of order.
  Slot* eleven = queue->AcquireFor(Step(11));
  ASSERT_NE(eleven, nullptr);
  eleven->header = Step(11);
  queue->PushReady(eleven);
  EXPECT_TRUE(queue->HasReady(11));
  EXPECT_EQ(queue->PopReady(absl::Milliseconds(10)), nullptr);  // Needs 10.
  // Step 12 must wait until the reader has taken step 10, even though a
  // slot is free: it would take the slot step 10 needs.
  absl::Notification got_twelve;
  Slot* twelve = nullptr;
  std::thread ahead([&] {
    twelve = queue->AcquireFor(Step(12));
    got_twelve.Notify();
  });
  Slot* ten = queue->AcquireFor(Step(10));
  ASSERT_NE(ten, nullptr);
  EXPECT_FALSE(got_twelve.HasBeenNotified());
  ten->header = Step(10);
  queue->PushReady(ten);
  Slot* first = queue->PopReady(absl::Seconds(5));
  ASSERT_EQ(first, ten);
  EXPECT_TRUE(got_twelve.WaitForNotificationWithTimeout(absl::Seconds(5)));
  ahead.join();
  ASSERT_NE(twelve, nullptr);
  EXPECT_EQ(queue->PopReady(absl::Seconds(5)), eleven);
  EXPECT_EQ(queue->next_step(), 12u);
  // A copy of a step already handed out is dropped.
  queue->Release(first);
  Slot* again = queue->AcquireFor(Step(11));
  ASSERT_NE(again, nullptr);
  again->header = Step(11);
  queue->PushReady(again);
  EXPECT_EQ(queue->ready_count(), 0u);
  // A synthetic batch comes out only while the next step is missing, and
  // does not take a step.
  Slot* synthetic = queue->AcquireFor(Step(40, v1::MODE_SYNTHETIC));
  ASSERT_NE(synthetic, nullptr);
  synthetic->header = Step(40, v1::MODE_SYNTHETIC);
  queue->PushReady(synthetic);
  twelve->header = Step(12);
  queue->PushReady(twelve);
  EXPECT_EQ(queue->PopReady(absl::Seconds(5)), twelve);
  EXPECT_EQ(queue->PopReady(absl::Seconds(5)), synthetic);
  EXPECT_EQ(queue->next_step(), 13u);
  queue->Release(twelve);
  queue->Release(synthetic);
  queue->Release(eleven);
}

}  // namespace
}  // namespace inputserve::client_internal
