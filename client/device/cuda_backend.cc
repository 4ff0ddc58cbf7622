#include "client/device/cuda_backend.h"

#include <algorithm>
#include <atomic>
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

}  // namespace

struct CudaBackend::State {
  std::vector<TensorPlacement> tensors;  // A copy: leases outlive the layout.
  size_t slice_bytes = 0;                // Of one device's packed slice.
  std::atomic<uint64_t> h2d_bytes{0};
  mutable absl::Mutex mu;
  std::vector<DeviceRing> rings ABSL_GUARDED_BY(mu);

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

  // Queues device d's copies of `slice` of `batch` into `dst` on the copy
  // stream and makes them visible to the trainer's stream (if any).
  absl::Status QueueCopies(int d, const uint8_t* batch, size_t slice, void* dst,
                           void* copied, std::vector<void*>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const DeviceRing& ring = rings[d];
    std::vector<cuda::Copy> copies(tensors.size());
    for (size_t t = 0; t < tensors.size(); ++t) {
      void* to = static_cast<uint8_t*>(dst) + tensors[t].packed_offset;
      copies[t] = {to,
                   batch + tensors[t].offset + slice * tensors[t].slice_bytes,
                   tensors[t].slice_bytes};
      (*out)[t] = to;
    }
    absl::Status s = CudaError(
        cuda::CopyAsync(d, ring.copy_stream, copies.data(), copies.size()), d);
    if (s.ok()) {
      s = CudaError(cuda::RecordEvent(d, copied, ring.copy_stream), d);
    }
    if (s.ok() && ring.trainer_stream != nullptr) {
      s = CudaError(cuda::StreamWaitEvent(d, ring.trainer_stream, copied), d);
    }
    if (s.ok()) h2d_bytes.fetch_add(slice_bytes, std::memory_order_relaxed);
    return s;
  }

  // Returns slots to their rings. With `used`, each slot's reuse waits for
  // the trainer's stream to pass this point; where recording that fails,
  // the host waits for the stream instead, and a slot that cannot be
  // ordered at all is retired.
  void Release(const std::vector<RingSlot*>& slots, bool used) {
    absl::MutexLock lock(&mu);
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
      if (slots[d] != nullptr)
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
  {
    absl::MutexLock lock(&st.mu);
    const size_t n = st.rings.size();
    lease->slots.assign(n, nullptr);
    for (size_t d = 0; d < n; ++d) {
      lease->devices.push_back(st.rings[d].device);
    }
    for (size_t d = 0; d < n && status.ok(); ++d) {
      absl::StatusOr<RingSlot*> slot = st.Take(static_cast<int>(d));
      if (!slot.ok()) {
        status = slot.status();
        break;
      }
      lease->slots[d] = *slot;
      status = st.QueueCopies(static_cast<int>(d), batch, d, (*slot)->buffer,
                              (*slot)->copied, &(*out)[d]);
    }
    // Without the trainer's stream the batch must be complete on return;
    // all devices were queued first, so they copy in parallel.
    for (size_t d = 0; d < n && status.ok(); ++d) {
      if (st.rings[d].trainer_stream != nullptr) continue;
      status = CudaError(
          cuda::EventSynchronize(st.rings[d].device, lease->slots[d]->copied),
          st.rings[d].device);
    }
  }
  if (!status.ok()) {
    // Nothing was handed out: the slots go straight back.
    std::vector<RingSlot*> slots = std::move(lease->slots);
    lease->slots.clear();
    st.Release(slots, /*used=*/false);
    return status;
  }
  lease->state = state_;
  return DeviceLease(std::move(lease));
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
    if (absl::Status s =
            st.QueueCopies(d, batch, /*slice=*/0, cache->buffers[i],
                           cache->events[i], &(*out)[i]);
        !s.ok()) {
      return s;
    }
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
