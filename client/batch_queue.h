// BatchQueue: a fixed pool of host buffers ("slots"), each big enough for one
// batch, and a FIFO of slots holding received batches. Streams take a free
// slot, fill it and push it ready; Next() pops ready slots in arrival order
// and releases them. A bounded pool gives backpressure: a stream that finds
// no free slot stops reading, and gRPC flow control slows the server.
// A reader may hold popped slots as long as it likes (a batch handle kept
// alive); with `grow_when_held` the pool grows by a slot whenever the reader
// holds more than its share, so held batches never starve the streams.
// In step order (deterministic streams, SetOrdered) readers get batches by
// header().step() instead: the next step, whichever stream brought it, and
// streams take slots only for steps less than max_ahead past the step the
// reader needs next, so a stream running ahead never takes the slot of the
// step the reader waits for.
// Thread-safe.
#ifndef INPUTSERVE_CLIENT_BATCH_QUEUE_H_
#define INPUTSERVE_CLIENT_BATCH_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "inputserve/batch.h"
#include "inputserve/v1/common.pb.h"

namespace inputserve::client_internal {

struct Slot {
  uint8_t* data = nullptr;
  v1::BatchHeader header;
  int source = -1;  // Index of the target that sent it.
  // The reader's view of the slot's batch, built on first use.
  Batch batch;
};

class BatchQueue {
 public:
  using AllocFn = std::function<absl::StatusOr<void*>(size_t)>;
  using FreeFn = std::function<void(void*)>;

  // Allocates `num_slots` buffers of `slot_bytes` with `alloc` (plain or
  // pinned host memory); they are returned through `free` on destruction.
  // At most `max_ahead` slots are ready or being filled at once (the
  // prefetch depth); the rest belong to the reader. 0 = no limit beyond
  // num_slots. With `grow_when_held`, once the reader holds more than
  // num_slots - max_ahead popped slots, each further pop adds a slot to the
  // pool (allocated outside the lock); the pool keeps its high-water size.
  static absl::StatusOr<std::unique_ptr<BatchQueue>> Create(
      int num_slots, size_t slot_bytes, AllocFn alloc, FreeFn free,
      int max_ahead = 0, bool grow_when_held = false);
  ~BatchQueue();

  // Blocks until a free slot exists; nullptr once the queue stops accepting
  // (paused for the synthetic cache, or shutting down). Waiters are served
  // first come, first served, so batches from several streams are merged in
  // the order they began to arrive and no stream starves another.
  Slot* AcquireFree();
  // Hands a filled slot to readers; dropped (freed) if not accepting.
  void PushReady(Slot* slot);
  // Returns a slot from AcquireFree that will not be filled (stream error).
  void Abandon(Slot* slot);
  // Oldest ready slot, or nullptr after `timeout`.
  Slot* PopReady(absl::Duration timeout);
  // Returns a slot taken by PopReady to the free pool. Any thread.
  void Release(Slot* slot);
  // While not accepting, AcquireFree returns nullptr and PushReady drops.
  void SetAccepting(bool accepting);
  // Frees every ready slot (stale data when the mode changed). In step
  // order only synthetic batches: the real ones stay valid for their step.
  void DrainReady();

  // Switches to step order, starting at `first_step`. Call before any
  // stream starts. Synthetic batches do not consume a step: PopReady hands
  // them out only when the next step's batch is not there.
  void SetOrdered(uint64_t first_step);
  // Step order: as AcquireFree for a batch with `header`: a real batch
  // waits until its step is within max_ahead of next_step(); a synthetic
  // one only for a free slot.
  Slot* AcquireFor(const v1::BatchHeader& header);
  // Step order: the step PopReady returns next.
  uint64_t next_step() const;
  // Step order: whether the batch of `step` is ready.
  bool HasReady(uint64_t step) const;

  size_t ready_count() const;
  // Slots in the pool (grows with held slots when grow_when_held).
  size_t num_slots() const;

 private:
  BatchQueue(AllocFn alloc, FreeFn free, size_t slot_bytes, size_t max_ahead,
             bool grow)
      : alloc_(std::move(alloc)),
        free_(std::move(free)),
        slot_bytes_(slot_bytes),
        max_ahead_(max_ahead),
        grow_(grow) {}
  // Adds one slot to the free pool; false when allocation fails.
  bool Grow() ABSL_LOCKS_EXCLUDED(mu_);

  AllocFn alloc_;
  FreeFn free_;
  const size_t slot_bytes_;
  const size_t max_ahead_;
  const bool grow_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);  // Owns all.
  size_t held_ ABSL_GUARDED_BY(mu_) = 0;  // Popped, not yet released.
  std::vector<Slot*> free_slots_ ABSL_GUARDED_BY(mu_);
  std::deque<Slot*> ready_ ABSL_GUARDED_BY(mu_);
  // Step order: real batches by step, and synthetic ones (in ready_).
  bool ordered_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_step_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, Slot*> by_step_ ABSL_GUARDED_BY(mu_);
  size_t filling_ ABSL_GUARDED_BY(mu_) = 0;  // Acquired, not yet pushed.
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  std::deque<uint64_t> waiters_ ABSL_GUARDED_BY(mu_);  // AcquireFree order.
  uint64_t next_waiter_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_BATCH_QUEUE_H_
