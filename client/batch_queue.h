// BatchQueue: a fixed pool of host buffers ("slots"), each big enough for one
// batch, and a FIFO of slots holding received batches. Streams take a free
// slot, fill it and push it ready; Next() pops ready slots in arrival order
// and releases them. A bounded pool gives backpressure: a stream that finds
// no free slot stops reading, and gRPC flow control slows the server.
// Thread-safe.
#ifndef INPUTSERVE_CLIENT_BATCH_QUEUE_H_
#define INPUTSERVE_CLIENT_BATCH_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "inputserve/v1/common.pb.h"

namespace inputserve::client_internal {

struct Slot {
  uint8_t* data = nullptr;
  v1::BatchHeader header;
  int source = -1;  // Index of the target that sent it.
};

class BatchQueue {
 public:
  using AllocFn = std::function<absl::StatusOr<void*>(size_t)>;
  using FreeFn = std::function<void(void*)>;

  // Allocates `num_slots` buffers of `slot_bytes` with `alloc` (plain or
  // pinned host memory); they are returned through `free` on destruction.
  // At most `max_ahead` slots are ready or being filled at once (the
  // prefetch depth); the rest belong to the reader. 0 = no limit beyond
  // num_slots.
  static absl::StatusOr<std::unique_ptr<BatchQueue>> Create(int num_slots,
                                                            size_t slot_bytes,
                                                            AllocFn alloc,
                                                            FreeFn free,
                                                            int max_ahead = 0);
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
  // Returns a slot taken by PopReady to the free pool.
  void Release(Slot* slot);
  // While not accepting, AcquireFree returns nullptr and PushReady drops.
  void SetAccepting(bool accepting);
  // Frees every ready slot (stale data when the mode changed).
  void DrainReady();

  size_t ready_count() const;

 private:
  BatchQueue(FreeFn free, size_t max_ahead)
      : free_(std::move(free)), max_ahead_(max_ahead) {}

  FreeFn free_;
  const size_t max_ahead_;
  std::vector<std::unique_ptr<Slot>> slots_;  // Owns every slot.
  mutable absl::Mutex mu_;
  std::vector<Slot*> free_slots_ ABSL_GUARDED_BY(mu_);
  std::deque<Slot*> ready_ ABSL_GUARDED_BY(mu_);
  size_t filling_ ABSL_GUARDED_BY(mu_) = 0;  // Acquired, not yet pushed.
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  std::deque<uint64_t> waiters_ ABSL_GUARDED_BY(mu_);  // AcquireFree order.
  uint64_t next_waiter_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_BATCH_QUEUE_H_
