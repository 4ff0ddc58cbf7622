#include "client/batch_queue.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace inputserve::client_internal {

absl::StatusOr<std::unique_ptr<BatchQueue>> BatchQueue::Create(
    int num_slots, size_t slot_bytes, AllocFn alloc, FreeFn free,
    int max_ahead, bool grow_when_held) {
  const size_t ahead = max_ahead <= 0 ? static_cast<size_t>(num_slots)
                                      : static_cast<size_t>(max_ahead);
  // Empty payloads are legal in principle; allocate at least one byte so a
  // slot always has a distinct pointer.
  const size_t bytes = slot_bytes == 0 ? 1 : slot_bytes;
  std::unique_ptr<BatchQueue> queue(new BatchQueue(
      std::move(alloc), std::move(free), bytes, ahead, grow_when_held));
  absl::MutexLock lock(&queue->mu_);
  for (int i = 0; i < num_slots; ++i) {
    absl::StatusOr<void*> mem = queue->alloc_(bytes);
    if (!mem.ok()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("allocating batch buffer ", i + 1, " of ", num_slots,
                       " (", bytes, " bytes): ", mem.status().message()));
    }
    auto slot = std::make_unique<Slot>();
    slot->data = static_cast<uint8_t*>(*mem);
    queue->free_slots_.push_back(slot.get());
    queue->slots_.push_back(std::move(slot));
  }
  return queue;
}

BatchQueue::~BatchQueue() {
  for (auto& slot : slots_) free_(slot->data);
}

Slot* BatchQueue::AcquireFree() {
  absl::MutexLock lock(&mu_);
  const uint64_t me = next_waiter_++;
  waiters_.push_back(me);
  auto my_turn = [this, me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !accepting_ ||
           (!free_slots_.empty() && ready_.size() + filling_ < max_ahead_ &&
            waiters_.front() == me);
  };
  mu_.Await(absl::Condition(&my_turn));
  waiters_.erase(std::find(waiters_.begin(), waiters_.end(), me));
  if (!accepting_) return nullptr;
  Slot* slot = free_slots_.back();
  free_slots_.pop_back();
  ++filling_;
  return slot;
}

void BatchQueue::Abandon(Slot* slot) {
  absl::MutexLock lock(&mu_);
  --filling_;
  free_slots_.push_back(slot);
}

void BatchQueue::SetOrdered(uint64_t first_step) {
  absl::MutexLock lock(&mu_);
  ordered_ = true;
  next_step_ = first_step;
}

Slot* BatchQueue::AcquireFor(const v1::BatchHeader& header) {
  const bool real = header.mode() != v1::MODE_SYNTHETIC;
  const uint64_t step = header.step();
  absl::MutexLock lock(&mu_);
  auto ready = [this, real, step]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // A real batch's bound is its step; a synthetic one (no step of its
    // own) counts against the prefetch depth, as in arrival order.
    return !accepting_ || (!free_slots_.empty() &&
                           (real ? step < next_step_ + max_ahead_
                                 : ready_.size() + filling_ < max_ahead_));
  };
  mu_.Await(absl::Condition(&ready));
  if (!accepting_) return nullptr;
  Slot* slot = free_slots_.back();
  free_slots_.pop_back();
  ++filling_;
  return slot;
}

uint64_t BatchQueue::next_step() const {
  absl::MutexLock lock(&mu_);
  return next_step_;
}

bool BatchQueue::HasReady(uint64_t step) const {
  absl::MutexLock lock(&mu_);
  return by_step_.count(step) != 0;
}

void BatchQueue::PushReady(Slot* slot) {
  absl::MutexLock lock(&mu_);
  --filling_;
  if (!accepting_) {
    free_slots_.push_back(slot);
  } else if (!ordered_ || slot->header.mode() == v1::MODE_SYNTHETIC) {
    ready_.push_back(slot);
  } else if (slot->header.step() < next_step_ ||
             !by_step_.emplace(slot->header.step(), slot).second) {
    // A step already handed out or already here (a stream re-asked for it
    // while the reader took it): drop the copy.
    free_slots_.push_back(slot);
  }
}

Slot* BatchQueue::PopReady(absl::Duration timeout) {
  Slot* slot = nullptr;
  bool grow = false;
  {
    absl::MutexLock lock(&mu_);
    auto next_real = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return ordered_ && !by_step_.empty() &&
             by_step_.begin()->first == next_step_;
    };
    auto has_ready = [this, &next_real]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !ready_.empty() || next_real();
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&has_ready), timeout)) {
      return nullptr;
    }
    if (next_real()) {
      slot = by_step_.begin()->second;
      by_step_.erase(by_step_.begin());
      ++next_step_;
    } else {
      slot = ready_.front();
      ready_.pop_front();
    }
    ++held_;
    // The streams' share is max_ahead_ slots; everything else may be held.
    grow = grow_ && slots_.size() - held_ < max_ahead_;
  }
  if (grow) Grow();
  return slot;
}

bool BatchQueue::Grow() {
  absl::StatusOr<void*> mem = alloc_(slot_bytes_);
  // On failure the streams just wait for the reader to release a slot.
  if (!mem.ok()) return false;
  auto slot = std::make_unique<Slot>();
  slot->data = static_cast<uint8_t*>(*mem);
  absl::MutexLock lock(&mu_);
  free_slots_.push_back(slot.get());
  slots_.push_back(std::move(slot));
  return true;
}

void BatchQueue::Release(Slot* slot) {
  absl::MutexLock lock(&mu_);
  --held_;
  free_slots_.push_back(slot);
}

size_t BatchQueue::num_slots() const {
  absl::MutexLock lock(&mu_);
  return slots_.size();
}

void BatchQueue::SetAccepting(bool accepting) {
  absl::MutexLock lock(&mu_);
  accepting_ = accepting;
}

void BatchQueue::DrainReady() {
  absl::MutexLock lock(&mu_);
  while (!ready_.empty()) {
    free_slots_.push_back(ready_.front());
    ready_.pop_front();
  }
}

size_t BatchQueue::ready_count() const {
  absl::MutexLock lock(&mu_);
  return ready_.size() + by_step_.size();
}

}  // namespace inputserve::client_internal
