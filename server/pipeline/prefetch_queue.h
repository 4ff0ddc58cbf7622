// PrefetchQueue: the bounded hand-off between the batch builder and the
// streams. Each batch goes to exactly one consumer.
//
// Consumers either block (Pop) or register an asynchronous waiter (PopAsync)
// so gRPC callback threads never block. Waiters are served in FIFO order.
// This class is thread-safe; waiters are invoked without the queue's lock
// held, on the thread that supplied the batch (or the caller of PopAsync).
#ifndef INPUTSERVE_SERVER_PIPELINE_PREFETCH_QUEUE_H_
#define INPUTSERVE_SERVER_PIPELINE_PREFETCH_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/pipeline/batch.h"

namespace inputserve {

class PrefetchQueue {
 public:
  // Receives the batch, or nullptr when the queue was closed.
  using Waiter = std::function<void(BatchPtr)>;
  // Called with the queue depth after every change (e.g. to set a gauge).
  using DepthObserver = std::function<void(size_t)>;

  explicit PrefetchQueue(size_t capacity, DepthObserver observer = nullptr);

  // Blocks while the queue is full. False when the queue is closed.
  bool Push(BatchPtr batch);
  // Puts a batch back at the front (a consumer could not deliver it), over
  // capacity if need be, so it is the next one handed out.
  void PushFront(BatchPtr batch);

  // Blocks until a batch is available (nullptr once closed and empty, or
  // after `timeout`).
  BatchPtr Pop(absl::Duration timeout = absl::InfiniteDuration());

  // Hands the next batch to `waiter`, at once if one is queued. Returns a
  // ticket for CancelWaiter (0 if the waiter already ran).
  uint64_t PopAsync(Waiter waiter);
  // True if the waiter was removed and will never run; false if it already
  // ran or is running.
  bool CancelWaiter(uint64_t ticket);

  // Wakes every waiter and blocked producer; later pushes fail. Queued
  // batches are dropped.
  void Close();
  bool closed() const;
  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  struct PendingWaiter {
    uint64_t ticket;
    Waiter waiter;
  };
  void ObserveDepthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t capacity_;
  const DepthObserver observer_;
  mutable absl::Mutex mu_;
  std::deque<BatchPtr> batches_ ABSL_GUARDED_BY(mu_);
  std::list<PendingWaiter> waiters_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_PIPELINE_PREFETCH_QUEUE_H_
