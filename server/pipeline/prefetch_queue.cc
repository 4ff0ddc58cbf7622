#include "server/pipeline/prefetch_queue.h"

#include <utility>
#include <vector>

namespace inputserve {

PrefetchQueue::PrefetchQueue(size_t capacity, DepthObserver observer)
    : capacity_(capacity == 0 ? 1 : capacity), observer_(std::move(observer)) {}

void PrefetchQueue::ObserveDepthLocked() {
  if (observer_) observer_(batches_.size());
}

bool PrefetchQueue::Push(BatchPtr batch) {
  Waiter waiter;
  {
    absl::MutexLock lock(&mu_);
    auto can_push = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closed_ || !waiters_.empty() || batches_.size() < capacity_;
    };
    mu_.Await(absl::Condition(&can_push));
    if (closed_) return false;
    if (waiters_.empty()) {
      batches_.push_back(std::move(batch));
      ObserveDepthLocked();
      return true;
    }
    waiter = std::move(waiters_.front().waiter);
    waiters_.pop_front();
  }
  waiter(std::move(batch));
  return true;
}

void PrefetchQueue::PushFront(BatchPtr batch) {
  Waiter waiter;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    if (waiters_.empty()) {
      batches_.push_front(std::move(batch));
      ObserveDepthLocked();
      return;
    }
    waiter = std::move(waiters_.front().waiter);
    waiters_.pop_front();
  }
  waiter(std::move(batch));
}

BatchPtr PrefetchQueue::Pop(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !batches_.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (batches_.empty() || closed_) return nullptr;
  BatchPtr batch = std::move(batches_.front());
  batches_.pop_front();
  ObserveDepthLocked();
  return batch;
}

uint64_t PrefetchQueue::PopAsync(Waiter waiter) {
  BatchPtr batch;
  {
    absl::MutexLock lock(&mu_);
    if (!closed_ && batches_.empty()) {
      const uint64_t ticket = next_ticket_++;
      waiters_.push_back(PendingWaiter{ticket, std::move(waiter)});
      return ticket;
    }
    if (!closed_) {
      batch = std::move(batches_.front());
      batches_.pop_front();
      ObserveDepthLocked();
    }
  }
  waiter(std::move(batch));
  return 0;
}

bool PrefetchQueue::CancelWaiter(uint64_t ticket) {
  absl::MutexLock lock(&mu_);
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if (it->ticket == ticket) {
      waiters_.erase(it);
      return true;
    }
  }
  return false;
}

void PrefetchQueue::Close() {
  std::list<PendingWaiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    batches_.clear();
    ObserveDepthLocked();
    waiters.swap(waiters_);
  }
  for (PendingWaiter& w : waiters) w.waiter(nullptr);
}

bool PrefetchQueue::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

size_t PrefetchQueue::size() const {
  absl::MutexLock lock(&mu_);
  return batches_.size();
}

}  // namespace inputserve
