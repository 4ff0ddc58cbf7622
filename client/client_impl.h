// ClientImpl: the Client behind the public interface. Owns the streams (one
// thread per target x connection), the mode watchers (one thread per target),
// the slot queue and the device backend. Next() runs on the caller's thread;
// in synthetic-cache mode it touches only one atomic flag and two counters.
// Thread-safety: as Client (Next() from one thread, stats() from any).
#ifndef INPUTSERVE_CLIENT_CLIENT_IMPL_H_
#define INPUTSERVE_CLIENT_CLIENT_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/batch_layout.h"
#include "client/batch_queue.h"
#include "client/client_counters.h"
#include "client/device/backend.h"
#include "client/transport/batch_stream.h"
#include "client/transport/mode_watcher.h"
#include "client/transport/stream_gate.h"
#include "client/transport/target_health.h"
#include "inputserve/client.h"
#include "inputserve/v1/common.pb.h"

namespace inputserve::client_internal {

class ClientImpl final : public Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);
  ~ClientImpl() override;

  absl::StatusOr<const Batch*> Next() override;
  ClientStats stats() const override;
  int batch_size() const override { return layout_->batch_size(); }
  int num_devices() const override { return options_.num_devices; }
  MemoryKind memory_kind() const override { return backend_->memory_kind(); }

 private:
  explicit ClientImpl(ClientOptions options);

  // Builds the Batch skeletons (names, shapes, devices) once so Next() only
  // swaps pointers and scalars.
  void InitBatch(Batch* batch, DevicePointers* pointers, bool from_cache);
  void SetPointers(Batch* batch, const DevicePointers& pointers);
  void SetMeta(Batch* batch, const Slot& slot);
  // Caches the synthetic batch in `slot` and closes the data streams. False
  // (slot released, nothing cached) when the batch is stale: its server has
  // already reported a newer REAL mode.
  absl::StatusOr<bool> EnterCache(Slot* slot);
  // Frees the cache and reopens the data streams.
  void LeaveCache();
  void OnModeStatus(int target, const v1::ModeStatus& status,
                    uint64_t connection);
  void NoteReturned(const Batch& batch);

  const ClientOptions options_;
  const absl::Time created_;
  std::unique_ptr<BatchLayout> layout_;
  // Declared before queue_: the queue's buffers come from the backend.
  std::unique_ptr<DeviceBackend> backend_;
  std::unique_ptr<BatchQueue> queue_;
  std::unique_ptr<TargetHealth> health_;
  StreamGate gate_;
  ClientCounters counters_;

  // State of the Next() thread.
  Slot* current_ = nullptr;  // Backs real_batch_ until the next Next().
  bool cache_active_ = false;
  Batch real_batch_;
  Batch cache_batch_;
  DevicePointers real_pointers_;
  DevicePointers cache_pointers_;

  // Mode state shared with the watcher threads.
  struct TargetMode {
    v1::ModeStatus status;
    uint64_t connection = 0;
  };
  absl::Mutex mode_mu_;
  std::vector<TargetMode> modes_ ABSL_GUARDED_BY(mode_mu_);
  bool cache_shared_ ABSL_GUARDED_BY(mode_mu_) = false;
  // Each target's mode when the cache was built: the cache is left when one
  // of them reports REAL under a newer generation.
  std::vector<TargetMode> cache_snapshot_ ABSL_GUARDED_BY(mode_mu_);
  std::atomic<bool> resume_requested_{false};

  // Destroyed first (declared last): they join threads that use the above.
  std::vector<std::unique_ptr<ModeWatcher>> watchers_;
  std::vector<std::unique_ptr<BatchStream>> streams_;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_CLIENT_IMPL_H_
