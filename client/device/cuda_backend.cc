#include "client/device/cuda_backend.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/device/cuda_runtime.h"

namespace inputserve::client_internal {
namespace {

absl::Status CudaError(const std::string& err, int device) {
  if (err.empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("CUDA device ", device, ": ", err));
}

// One device buffer of the ring and the two events that order its reuse.
struct RingSlot {
  void* buffer = nullptr;
  void* copied = nullptr;    // Recorded on the copy stream after its copies.
  void* released = nullptr;  // Recorded on the trainer's stream at release.
  bool release_pending = false;  // `released` recorded since the last copy.
};

struct DeviceRing {
  int device = 0;
  void* copy_stream = nullptr;                   // Ours.
  void* trainer_stream = nullptr;                // The trainer's, or null.
  std::vector<std::unique_ptr<RingSlot>> slots;  // Owns them all.
  std::vector<RingSlot*> free;  // Least recently released first.
};

// One (tensor, device) slice of a batch: the unit of an early copy, ready
// once the batch's first `end` bytes have arrived.
struct Piece {
  size_t end = 0;
  int device = 0;
  size_t tensor = 0;
};

// The copies already queued for a batch that is still arriving.
struct Early {
  std::vector<RingSlot*> slots;  // Per device; null until its first piece.
  size_t next = 0;               // Pieces [0, next) are queued.
  bool failed = false;           // A copy failed: Place() starts over.
};

}  // namespace

struct CudaBackend::State {
  std::vector<TensorPlacement> tensors;  // A copy: leases outlive the layout.
  size_t slice_bytes = 0;                // Of one device's packed slice.
  std::vector<Piece> pieces;             // In payload order.
  std::atomic<uint64_t> h2d_bytes{0};
  mutable absl::Mutex mu;
  std::vector<DeviceRing> rings ABSL_GUARDED_BY(mu);
  // Per host buffer still being received.
  std::map<const uint8_t*, Early> early ABSL_GUARDED_BY(mu);

  // Runs when the backend and every lease are gone: waits for the work
  // queued on our memory, then frees it.
  ~State() {
    for (DeviceRing& ring : rings) {
      const int d = ring.device;
      if (ring.copy_stream != nullptr) cuda::Synchronize(d, ring.copy_stream);
      for (const auto& slot : ring.slots) {
        if (slot->release_pending) cuda::EventSynchronize(d, slot->released);
        if (slot->copied != nullptr) cuda::DestroyEvent(d, slot->copied);
        if (slot->released != nullptr) cuda::DestroyEvent(d, slot->released);
        if (slot->buffer != nullptr) cuda::FreeDevice(d, slot->buffer);
      }
      if (ring.copy_stream != nullptr) {
        cuda::DestroyStream(d, ring.copy_stream);
      }
    }
  }

  // Adds one slot (buffer and events) to the free end of `ring`.
  absl::Status AddSlot(DeviceRing& ring) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto slot = std::make_unique<RingSlot>();
    const int d = ring.device;
    absl::Status s =
        CudaError(cuda::AllocDevice(d, slice_bytes + 1, &slot->buffer), d);
    if (s.ok()) s = CudaError(cuda::CreateEvent(d, &slot->copied), d);
    if (s.ok()) s = CudaError(cuda::CreateEvent(d, &slot->released), d);
    // Kept even when incomplete, so ~State frees what was made.
    RingSlot* raw = slot.get();
    ring.slots.push_back(std::move(slot));
    if (s.ok()) ring.free.push_back(raw);
    return s;
  }

  // The least recently released slot of device `d`, growing the ring when
  // every slot is held. Its reuse is ordered (on the GPU) after the trainer's
  // work queued before its release.
  absl::StatusOr<RingSlot*> Take(int d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    DeviceRing& ring = rings[d];
    if (ring.free.empty()) {
      if (absl::Status s = AddSlot(ring); !s.ok()) return s;
    }
    RingSlot* slot = ring.free.front();
    if (slot->release_pending) {
      if (absl::Status s = CudaError(
              cuda::StreamWaitEvent(d, ring.copy_stream, slot->released), d);
          !s.ok()) {
        return s;
      }
      slot->release_pending = false;
    }
    ring.free.erase(ring.free.begin());
    return slot;
  }

  // Queues the copy of tensor `t`'s slice `slice` of `batch` into `dst` (a
  // packed per-device buffer) on device d's copy stream.
  absl::Status CopyTensor(int d, const uint8_t* batch, size_t t, size_t slice,
                          void* dst) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const TensorPlacement& p = tensors[t];
    const cuda::Copy copy{static_cast<uint8_t*>(dst) + p.packed_offset,
                          batch + p.offset + slice * p.slice_bytes,
                          p.slice_bytes};
    absl::Status s =
        CudaError(cuda::CopyAsync(d, rings[d].copy_stream, &copy, 1), d);
    if (s.ok()) h2d_bytes.fetch_add(p.slice_bytes, std::memory_order_relaxed);
    return s;
  }

  // Copies piece `i` of a batch to its device, first taking the device's
  // slot if `slots` has none yet.
  absl::Status CopyPiece(const uint8_t* batch, size_t i,
                         std::vector<RingSlot*>* slots)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const Piece& piece = pieces[i];
    RingSlot*& slot = (*slots)[piece.device];
    if (slot == nullptr) {
      absl::StatusOr<RingSlot*> taken = Take(piece.device);
      if (!taken.ok()) return taken.status();
      slot = *taken;
    }
    return CopyTensor(piece.device, batch, piece.tensor, piece.device,
                      slot->buffer);
  }

  // Marks the end of device d's copies with `copied` and makes the trainer's
  // stream (if any) wait for it on the GPU.
  absl::Status Publish(int d, void* copied) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const DeviceRing& ring = rings[d];
    absl::Status s =
        CudaError(cuda::RecordEvent(d, copied, ring.copy_stream), d);
    if (s.ok() && ring.trainer_stream != nullptr) {
      s = CudaError(cuda::StreamWaitEvent(d, ring.trainer_stream, copied), d);
    }
    return s;
  }

  // The early copies of host buffer `batch`, removed from the map; none
  // (every slot null, next = 0) when there were none or one failed.
  Early TakeEarly(const uint8_t* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    Early taken;
    taken.slots.assign(rings.size(), nullptr);
    auto it = early.find(batch);
    if (it == early.end()) return taken;
    if (it->second.failed) {
      ReleaseLocked(it->second.slots, /*used=*/false);
    } else {
      taken = std::move(it->second);
    }
    early.erase(it);
    return taken;
  }

  // Returns slots to their rings. With `used`, each slot's reuse waits for
  // the trainer's stream to pass this point; where recording that fails,
  // the host waits for the stream instead, and a slot that cannot be
  // ordered at all is retired.
  void Release(const std::vector<RingSlot*>& slots, bool used) {
    absl::MutexLock lock(&mu);
    ReleaseLocked(slots, used);
  }
  void ReleaseLocked(const std::vector<RingSlot*>& slots, bool used)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (size_t d = 0; d < slots.size(); ++d) {
      RingSlot* slot = slots[d];
      if (slot == nullptr) continue;
      DeviceRing& ring = rings[d];
      const int device = ring.device;
      if (used && ring.trainer_stream != nullptr) {
        if (cuda::RecordEvent(device, slot->released, ring.trainer_stream)
                .empty()) {
          slot->release_pending = true;
        } else if (!cuda::Synchronize(device, ring.trainer_stream).empty()) {
          continue;
        }
      }
      ring.free.push_back(slot);
    }
  }
};

namespace {

// A Place() result: the slot per device. Dropping it waits for the copies
// to have read the host buffer (which the caller reuses next; the trainer's
// stream has normally passed them long ago) and returns the slots.
struct SlotLease {
  std::shared_ptr<CudaBackend::State> state;
  std::vector<RingSlot*> slots;
  std::vector<int> devices;
  ~SlotLease() {
    if (state == nullptr) return;  // Never handed out.
    for (size_t d = 0; d < slots.size(); ++d) {
      cuda::EventSynchronize(devices[d], slots[d]->copied);
    }
    state->Release(slots, /*used=*/true);
  }
};

// The synthetic cache: one buffer per device, freed once the work the
// trainer queued before dropping it has finished.
struct CacheLease {
  std::vector<int> devices;
  std::vector<void*> trainer_streams;
  std::vector<void*> buffers;
  std::vector<void*> events;
  bool ready = false;  // Every copy was queued.
  ~CacheLease() {
    for (size_t d = 0; d < devices.size(); ++d) {
      const int device = devices[d];
      if (events[d] != nullptr) {
        if (ready && trainer_streams[d] != nullptr) {
          cuda::RecordEvent(device, events[d], trainer_streams[d]);
        }
        cuda::EventSynchronize(device, events[d]);
        cuda::DestroyEvent(device, events[d]);
      }
      if (buffers[d] != nullptr) cuda::FreeDevice(device, buffers[d]);
    }
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<CudaBackend>> CudaBackend::Create(
    const CudaBackendOptions& options, const BatchLayout* layout) {
  const int n = options.num_devices;
  const int available = cuda::DeviceCount();
  if (available < n) {
    return absl::FailedPreconditionError(
        absl::StrCat("device_kind kCuda needs ", n, " GPUs but ", available,
                     " are visible"));
  }
  auto state = std::make_shared<State>();
  state->tensors = layout->tensors();
  state->slice_bytes = layout->slice_payload_bytes();
  // Tensors follow each other in the payload, each one's device slices in
  // device order, so pieces in this order complete in this order.
  for (size_t t = 0; t < state->tensors.size(); ++t) {
    const TensorPlacement& p = state->tensors[t];
    for (int d = 0; d < n; ++d) {
      state->pieces.push_back({p.offset + (d + 1) * p.slice_bytes, d, t});
    }
  }
  absl::MutexLock lock(&state->mu);
  state->rings.resize(n);
  for (int d = 0; d < n; ++d) {
    DeviceRing& ring = state->rings[d];
    ring.device = d;
    if (!options.trainer_streams.empty()) {
      ring.trainer_stream = options.trainer_streams[d];
    }
    if (absl::Status s = CudaError(cuda::CreateStream(d, &ring.copy_stream), d);
        !s.ok()) {
      return s;
    }
    for (int i = 0; i < std::max(1, options.ring_depth); ++i) {
      if (absl::Status s = state->AddSlot(ring); !s.ok()) return s;
    }
  }
  return std::unique_ptr<CudaBackend>(new CudaBackend(std::move(state)));
}

CudaBackend::~CudaBackend() = default;

absl::StatusOr<void*> CudaBackend::AllocateHost(size_t bytes) {
  void* ptr = nullptr;
  std::string err = cuda::AllocPinned(bytes, &ptr);
  if (!err.empty()) return absl::ResourceExhaustedError(err);
  return ptr;
}

void CudaBackend::FreeHost(void* ptr) { cuda::FreePinned(ptr); }

uint64_t CudaBackend::h2d_bytes() const {
  return state_->h2d_bytes.load(std::memory_order_relaxed);
}

int CudaBackend::ring_size(int device) const {
  absl::MutexLock lock(&state_->mu);
  return static_cast<int>(state_->rings[device].slots.size());
}

absl::StatusOr<DeviceLease> CudaBackend::Place(const uint8_t* batch,
                                               DevicePointers* out) {
  State& st = *state_;
  auto lease = std::make_shared<SlotLease>();
  absl::Status status;
  st.mu.Lock();
  const size_t n = st.rings.size();
  // What arrived early is on its way already; copy the rest now.
  Early early = st.TakeEarly(batch);
  lease->slots = std::move(early.slots);
  for (size_t i = early.next; i < st.pieces.size() && status.ok(); ++i) {
    status = st.CopyPiece(batch, i, &lease->slots);
  }
  for (size_t d = 0; d < n && status.ok(); ++d) {
    lease->devices.push_back(st.rings[d].device);
    if (lease->slots[d] != nullptr) continue;
    // Only a device whose slices are all empty has no slot yet.
    absl::StatusOr<RingSlot*> slot = st.Take(static_cast<int>(d));
    if (slot.ok()) lease->slots[d] = *slot;
    status = slot.status();
  }
  for (size_t d = 0; d < n && status.ok(); ++d) {
    RingSlot* slot = lease->slots[d];
    for (size_t t = 0; t < st.tensors.size(); ++t) {
      (*out)[d][t] =
          static_cast<uint8_t*>(slot->buffer) + st.tensors[t].packed_offset;
    }
    status = st.Publish(static_cast<int>(d), slot->copied);
  }
  std::vector<int> host_waits;
  for (size_t d = 0; d < n && status.ok(); ++d) {
    if (st.rings[d].trainer_stream == nullptr) host_waits.push_back(d);
  }
  if (!status.ok()) {
    // Nothing was handed out: the slots go straight back.
    st.ReleaseLocked(lease->slots, /*used=*/false);
    st.mu.Unlock();
    lease->slots.clear();
    return status;
  }
  st.mu.Unlock();
  // Without the trainer's stream the batch must be complete on return; all
  // devices were queued first, so they copy in parallel. The lease owns the
  // slots, so this needs no lock.
  for (int d : host_waits) {
    status = CudaError(
        cuda::EventSynchronize(lease->devices[d], lease->slots[d]->copied),
        lease->devices[d]);
    if (!status.ok()) {
      st.Release(lease->slots, /*used=*/false);
      lease->slots.clear();
      return status;
    }
  }
  lease->state = state_;
  return DeviceLease(std::move(lease));
}

void CudaBackend::BeginArrival(const uint8_t* batch) {
  State& st = *state_;
  absl::MutexLock lock(&st.mu);
  // A buffer refilled without being placed (drained, or its stream failed)
  // gives its slots back first.
  auto it = st.early.find(batch);
  if (it != st.early.end()) {
    st.ReleaseLocked(it->second.slots, /*used=*/false);
    st.early.erase(it);
  }
  st.early[batch].slots.assign(st.rings.size(), nullptr);
}

void CudaBackend::BytesArrived(const uint8_t* batch, size_t filled) {
  State& st = *state_;
  absl::MutexLock lock(&st.mu);
  auto it = st.early.find(batch);
  if (it == st.early.end()) return;
  Early& early = it->second;
  while (!early.failed && early.next < st.pieces.size() &&
         st.pieces[early.next].end <= filled) {
    // An error resurfaces, as a Status, when Place() copies again.
    early.failed = !st.CopyPiece(batch, early.next, &early.slots).ok();
    if (!early.failed) ++early.next;
  }
}

void CudaBackend::AbandonArrival(const uint8_t* batch) {
  State& st = *state_;
  absl::MutexLock lock(&st.mu);
  auto it = st.early.find(batch);
  if (it == st.early.end()) return;
  st.ReleaseLocked(it->second.slots, /*used=*/false);
  st.early.erase(it);
}

absl::StatusOr<DeviceLease> CudaBackend::BuildCache(const uint8_t* batch,
                                                    DevicePointers* out) {
  State& st = *state_;
  auto cache = std::make_shared<CacheLease>();
  absl::MutexLock lock(&st.mu);
  const size_t n = st.rings.size();
  cache->buffers.assign(n, nullptr);
  cache->events.assign(n, nullptr);
  for (const DeviceRing& ring : st.rings) {
    cache->devices.push_back(ring.device);
    cache->trainer_streams.push_back(ring.trainer_stream);
  }
  for (size_t i = 0; i < n; ++i) {
    const int d = static_cast<int>(i);
    if (absl::Status s = CudaError(
            cuda::AllocDevice(d, st.slice_bytes + 1, &cache->buffers[i]), d);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CudaError(cuda::CreateEvent(d, &cache->events[i]), d);
        !s.ok()) {
      return s;
    }
    for (size_t t = 0; t < st.tensors.size(); ++t) {
      (*out)[i][t] = static_cast<uint8_t*>(cache->buffers[i]) +
                     st.tensors[t].packed_offset;
      if (absl::Status s =
              st.CopyTensor(d, batch, t, /*slice=*/0, cache->buffers[i]);
          !s.ok()) {
        return s;
      }
    }
    if (absl::Status s = st.Publish(d, cache->events[i]); !s.ok()) return s;
  }
  cache->ready = true;
  // Once per synthetic stretch: the host buffer is reused as soon as this
  // returns, so wait until every device has read it.
  for (size_t i = 0; i < n; ++i) {
    const int d = static_cast<int>(i);
    if (absl::Status s =
            CudaError(cuda::EventSynchronize(d, cache->events[i]), d);
        !s.ok()) {
      return s;
    }
  }
  return DeviceLease(std::move(cache));
}

}  // namespace inputserve::client_internal
