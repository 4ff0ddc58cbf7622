// ClientImpl: the Client behind the public interface. Owns one Endpoint per
// server address (a listed target, or each address of a dns:/// name, kept
// current by a re-resolving thread), the slot queue and the device backend;
// in deterministic order also the OrderedReader, whose per-shard streams
// replace the endpoints' data streams.
// Next() runs on the caller's thread; in synthetic-cache mode it touches
// only one atomic flag and two counters.
// Thread-safety: as Client (Next() from one thread, stats() from any).
#ifndef INPUTSERVE_CLIENT_CLIENT_IMPL_H_
#define INPUTSERVE_CLIENT_CLIENT_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/batch_layout.h"
#include "client/batch_queue.h"
#include "client/client_counters.h"
#include "client/device/backend.h"
#include "client/endpoint.h"
#include "client/ordered_reader.h"
#include "client/transport/channel.h"
#include "client/transport/dataset_probe.h"
#include "client/transport/dns_targets.h"
#include "client/transport/target_health.h"
#include "grpcpp/security/credentials.h"
#include "inputserve/client.h"
#include "inputserve/v1/common.pb.h"

namespace inputserve::client_internal {

// The public DatasetInfo from what the targets (`names`) answered.
DatasetInfo MakeDatasetInfo(const std::vector<std::string>& names,
                            const ProbeResult& probe);

class ClientImpl final : public Client {
 public:
  // `resolver` turns dns:/// names into addresses; tests inject a fake.
  static absl::StatusOr<std::unique_ptr<Client>> Create(
      ClientOptions options, Resolver resolver = SystemResolver());
  ~ClientImpl() override;

  absl::StatusOr<const Batch*> Next() override;
  absl::StatusOr<std::shared_ptr<const Batch>> TryNextShared(
      absl::Duration max_wait) override;
  const DatasetInfo& info() const override { return info_; }
  ClientStats stats() const override;
  int batch_size() const override { return layout_->batch_size(); }
  int num_devices() const override { return options_.num_devices; }
  MemoryKind memory_kind() const override { return backend_->memory_kind(); }

 private:
  explicit ClientImpl(ClientOptions options);

  // The steps of Create(), in order.
  absl::Status InitializeChannelSettings(
      Resolver resolver, std::shared_ptr<grpc::ChannelCredentials> credentials);
  absl::Status InitializeLayout(const std::vector<std::string>& names,
                                const ProbeResult& probe);
  absl::Status InitializeBuffers();  // Device backend and batch queue.
  // Starts every endpoint's watcher and streams, and the DNS refresher.
  void StartEndpoints(const std::vector<EndpointSpec>& specs,
                      const std::vector<std::shared_ptr<grpc::Channel>>& control,
                      const std::vector<v1::ModeStatus>& modes);
  // Deterministic order: one stream per shard the rank uses, over the
  // replicas of `specs` that answered at Create().
  void StartOrderedReader(const std::vector<EndpointSpec>& specs);
  // A channel to `spec`: shared control channel, or (data) a dedicated one
  // tuned for bulk transfers.
  std::shared_ptr<grpc::Channel> MakeEndpointChannel(const EndpointSpec& spec,
                                                     bool data) const;

  // Builds a Batch skeleton (names, shapes, devices) once per slot so
  // NextShared() only swaps pointers and scalars.
  void InitBatch(Batch* batch, bool from_cache) const;
  void SetPointers(Batch* batch, const DevicePointers& pointers);
  void SetMeta(Batch* batch, const Slot& slot);
  // Deterministic order: each device's shape[0] and bytes for the batch's
  // examples (fewer than the batch size for a short batch).
  void SetRows(Batch* batch, const Slot& slot);
  // Counts a Next() served from the synthetic cache; returns its step.
  uint64_t CountCacheHit();
  // Hands out `slot`'s batch as a handle that releases the slot (and the
  // device lease) when its last copy is gone.
  std::shared_ptr<const Batch> HandOut(Slot* slot, DeviceLease lease);
  // A handle of the synthetic cache with its own step.
  std::shared_ptr<const Batch> CacheHandle(uint64_t step) const;
  // Caches the synthetic batch in `slot` and closes the data streams. False
  // (slot released, nothing cached) when the batch is stale: its server has
  // already reported a newer REAL mode.
  absl::StatusOr<bool> EnterCache(Slot* slot);
  // Frees the cache and reopens the data streams.
  void LeaveCache();
  void OnModeStatus(int target, const v1::ModeStatus& status,
                    uint64_t connection);
  // Counts a returned batch; returns its step.
  uint64_t NoteReturned(const Batch& batch);

  // Starts an endpoint's watcher and streams (paused while the synthetic
  // cache is active). `control` may be null: a channel is made.
  void AddEndpoint(const EndpointSpec& spec,
                   std::shared_ptr<grpc::Channel> control)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(endpoints_mu_);
  void PauseStreams();
  void ResumeStreams();
  // Re-resolves every dns target: starts endpoints for new addresses and
  // retires those whose address is gone. A failed or empty resolution keeps
  // the current endpoints (a brief DNS outage must not stop training).
  void Refresh();
  void RefreshLoop();

  const ClientOptions options_;
  const absl::Time created_;
  DatasetInfo info_;
  std::unique_ptr<BatchLayout> layout_;
  // Shared with the handles NextShared() gives out, which may outlive the
  // client. The queue's buffers come from (and go back to) the backend.
  std::shared_ptr<DeviceBackend> backend_;
  std::shared_ptr<BatchQueue> queue_;
  std::unique_ptr<TargetHealth> health_;
  ClientCounters counters_;
  Resolver resolver_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  ChannelSettings settings_;

  // State of the Next() thread.
  std::shared_ptr<const Batch> held_;  // The last Next() batch.
  bool cache_active_ = false;
  // When the current wait for a batch began (across TryNextShared calls
  // that ran out of max_wait); InfinitePast when not waiting.
  absl::Time waiting_since_ = absl::InfinitePast();
  // The device-resident synthetic batch; owns its device lease. Next()
  // updates its step in place, NextShared() hands out copies.
  std::shared_ptr<Batch> cache_;
  // Deterministic order: the step the cache stands in for (the next real
  // step; the cache does not consume it).
  uint64_t cache_step_ = 0;
  DevicePointers pointers_;  // Scratch for Place/BuildCache.
  // Deterministic order only: the plan (read by the reader's threads).
  std::unique_ptr<OrderSetup> order_;

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

  // Their threads use everything above; the destructor stops them first.
  absl::Mutex endpoints_mu_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_
      ABSL_GUARDED_BY(endpoints_mu_);
  std::unique_ptr<OrderedReader> reader_;  // Deterministic order only.
  bool streams_paused_ ABSL_GUARDED_BY(endpoints_mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(endpoints_mu_) = false;

  absl::Mutex refresh_mu_;
  bool stop_refresh_ ABSL_GUARDED_BY(refresh_mu_) = false;
  std::thread refresher_;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_CLIENT_IMPL_H_
