// The batch a trainer receives: per-device tensor views over memory the
// Client owns.
#ifndef INPUTSERVE_CLIENT_BATCH_H_
#define INPUTSERVE_CLIENT_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "inputserve/element_type.h"

namespace inputserve {

enum class MemoryKind { kHost, kCuda };

enum class BatchMode { kReal, kSynthetic };

// A view of one tensor slice on one device. Does not own `data`.
struct TensorView {
  std::string name;
  ElementType dtype = ElementType::kUint8;
  std::vector<int64_t> shape;  // shape[0] = this device's share of the batch.
  void* data = nullptr;        // Host pointer, or CUDA device pointer.
  size_t num_bytes = 0;
  MemoryKind memory = MemoryKind::kHost;
  int device = -1;  // CUDA ordinal or host-device index; -1 = plain host.
};

struct DeviceBatch {
  int device = -1;
  std::vector<TensorView> tensors;  // In the server's tensor order.

  const TensorView* Find(const std::string& name) const {
    for (const TensorView& t : tensors) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
};

// One global batch. From Client::Next(): valid until the next call to
// Next() or the Client's destruction, whichever comes first. From
// Client::NextShared(): valid while the handle lives.
//
// A short batch (deterministic order with drop_remainder off: a shard's last
// batch of an epoch) holds n < global_batch_size examples; its tensors have
// shape[0] = n in total, split over the devices as evenly as possible: the
// first n % D devices get n / D + 1 examples, the others n / D (a device may
// get none: shape[0] = 0). Each device's slice starts where a full batch's
// slice would, so with D > 1 the slices of a short batch are not contiguous.
struct Batch {
  uint64_t sequence = 0;  // The server's sequence number of the batch.
  // Arrival order: the server's epoch. Deterministic order: the plan's epoch
  // of `step`.
  uint64_t epoch = 0;
  // Arrival order: this client's step, 0 for the first batch it returned,
  // then +1 per batch (cached synthetic batches included). Deterministic
  // order: the plan's step (start_step, start_step + 1, ...); a batch from
  // the synthetic cache carries the next real step and does not consume it.
  uint64_t step = 0;
  BatchMode mode = BatchMode::kReal;
  uint64_t mode_generation = 0;
  int global_batch_size = 0;
  // The server that sent it: the target as given in ClientOptions::targets,
  // for a dns name with the address: "dns:///svc:50051 (10.0.0.7:50051)".
  std::string source;
  // One entry when num_devices = 0, else one per device.
  std::vector<DeviceBatch> devices;
  // True when served from the device-resident synthetic cache (no network).
  bool from_cache = false;
};

// Counters a trainer or test reads to see where time and bytes went.
struct ClientStats {
  uint64_t batches = 0;            // Returned by Next().
  uint64_t batches_received = 0;   // Arrived over the network.
  uint64_t bytes_received = 0;     // Payload bytes over the network.
  uint64_t cache_hits = 0;         // Next() served from the synthetic cache.
  uint64_t synthetic_uploads = 0;  // Times the synthetic batch was cached.
  uint64_t h2d_bytes = 0;          // Host-to-device bytes copied (CUDA).
  uint64_t reconnects = 0;         // Streams re-opened after a failure.
  uint64_t stream_errors = 0;      // Streams that ended with an error.
  double wait_seconds = 0;         // Time Next() spent waiting for data.
  double time_to_first_batch_seconds = -1;  // From Create() to first batch.
  // Prefetch: how many received batches may wait ahead of Next()
  // (ClientOptions::prefetch_batches), how many wait now, and how many
  // waited on average when Next() asked for a network batch. An occupancy
  // near 0 means the trainer waits for input; near the depth, the input is
  // ahead of the trainer.
  int prefetch_depth = 0;
  uint64_t prefetch_ready = 0;
  double prefetch_occupancy = 0;
  uint64_t mode_generation = 0;  // Last mode generation seen.
  BatchMode mode = BatchMode::kReal;
  // Batch buffers in the client's pool: prefetch_batches + 1, plus one for
  // each batch handle (NextShared) held beyond that at the high-water mark.
  uint64_t pool_slots = 0;
};

}  // namespace inputserve

#endif  // INPUTSERVE_CLIENT_BATCH_H_
