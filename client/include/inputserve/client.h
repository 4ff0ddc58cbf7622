// Client: pulls batches from one or more inputserve servers, splits them over
// the host's devices, and caches the synthetic batch on each device.
//
// Thread-safety: Next() and NextShared() must be called from one thread at a
// time; stats() and info() may be called from any thread, and a handle from
// NextShared() may be dropped on any thread.
#ifndef INPUTSERVE_CLIENT_CLIENT_H_
#define INPUTSERVE_CLIENT_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "inputserve/batch.h"
#include "inputserve/dataset_info.h"
#include "inputserve/options.h"

namespace inputserve {

class Client {
 public:
  // Connects to every target, reads the dataset description and starts
  // prefetching. INVALID_ARGUMENT when the options are unusable (for example
  // a batch size that num_devices does not divide: the message names both and
  // the nearest valid batch sizes); UNAVAILABLE when no target answers.
  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);

  virtual ~Client() = default;

  // Returns the next batch. The pointer and every TensorView in it stay
  // valid until the next call to Next() or the Client's destruction.
  // In synthetic mode this returns the device-resident cache with no network
  // traffic. UNAVAILABLE when no target delivered a batch within
  // ClientOptions::unavailable_timeout.
  virtual absl::StatusOr<const Batch*> Next() = 0;

  // As Next(), but the caller owns the batch: its memory stays valid, and
  // is not reused, for as long as any copy of the handle lives, whatever
  // Next()/NextShared() calls come later and even after the Client is
  // destroyed. Dropping the last copy returns the memory to the Client's
  // pool. Holding many handles grows the pool (one batch buffer each), so
  // prefetching never stalls on them. A NextShared() call also ends the
  // validity of the last Next() batch (do not mix the two).
  absl::StatusOr<std::shared_ptr<const Batch>> NextShared() {
    return TryNextShared(absl::InfiniteDuration());
  }

  // NextShared() that waits at most `max_wait`: DEADLINE_EXCEEDED, with
  // nothing consumed, when no batch arrived by then; call again to keep
  // waiting. ClientOptions::unavailable_timeout counts across such calls,
  // so a caller waiting in slices (to notice Ctrl-C) still gets UNAVAILABLE
  // at the same moment as one blocked in NextShared().
  virtual absl::StatusOr<std::shared_ptr<const Batch>> TryNextShared(
      absl::Duration max_wait) = 0;

  // The servers' description of the dataset, read at Create().
  virtual const DatasetInfo& info() const = 0;

  virtual ClientStats stats() const = 0;

  // Global batch size the servers produce.
  virtual int batch_size() const = 0;
  // Devices the batch is split over (0 = one unsplit host batch).
  virtual int num_devices() const = 0;
  virtual MemoryKind memory_kind() const = 0;
};

}  // namespace inputserve

#endif  // INPUTSERVE_CLIENT_CLIENT_H_
