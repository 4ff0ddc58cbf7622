#include "client/client_impl.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/options_validation.h"
#include "client/transport/channel.h"
#include "client/transport/dataset_probe.h"

namespace inputserve::client_internal {

absl::StatusOr<std::unique_ptr<Client>> ClientImpl::Create(
    ClientOptions options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  ChannelSettings settings;
  settings.keepalive_time = options.keepalive_time;
  settings.keepalive_timeout = options.keepalive_timeout;
  settings.reconnect_initial_backoff = options.initial_backoff;
  settings.reconnect_max_backoff = options.max_backoff;

  std::unique_ptr<ClientImpl> client(new ClientImpl(std::move(options)));
  const ClientOptions& opts = client->options_;
  const size_t num_targets = opts.targets.size();

  // Control channels carry GetDatasetInfo and WatchMode; data streams get
  // dedicated channels (their own TCP connections) below.
  std::vector<std::shared_ptr<grpc::Channel>> control;
  for (const std::string& target : opts.targets) {
    control.push_back(MakeChannel(target, *credentials, settings));
  }
  absl::StatusOr<ProbeResult> probe =
      ProbeTargets(opts.targets, control, opts.connect_timeout);
  if (!probe.ok()) return probe.status();
  const int batch = static_cast<int>(probe->info.batch_size());
  if (absl::Status s = CheckBatchDivisible(batch, opts.num_devices); !s.ok()) {
    return s;
  }
  absl::StatusOr<BatchLayout> layout = BatchLayout::Create(
      batch, probe->info.tensors(), std::max(1, opts.num_devices));
  if (!layout.ok()) {
    return absl::Status(layout.status().code(),
                        absl::StrCat("dataset served by the targets is not "
                                     "usable: ",
                                     layout.status().message()));
  }
  client->layout_ = std::make_unique<BatchLayout>(*std::move(layout));

  absl::StatusOr<std::unique_ptr<DeviceBackend>> backend = CreateDeviceBackend(
      opts.device_kind, opts.num_devices, client->layout_.get());
  if (!backend.ok()) return backend.status();
  client->backend_ = *std::move(backend);
  DeviceBackend* raw_backend = client->backend_.get();
  // One slot more than the prefetch depth: the caller holds one while up to
  // prefetch_batches are received ahead (never more, so the depth reported
  // in stats() is the real bound).
  absl::StatusOr<std::unique_ptr<BatchQueue>> queue = BatchQueue::Create(
      opts.prefetch_batches + 1, client->layout_->payload_bytes(),
      [raw_backend](size_t n) { return raw_backend->AllocateHost(n); },
      [raw_backend](void* p) { raw_backend->FreeHost(p); },
      opts.prefetch_batches);
  if (!queue.ok()) return queue.status();
  client->queue_ = *std::move(queue);

  client->InitBatch(&client->real_batch_, &client->real_pointers_,
                    /*from_cache=*/false);
  client->InitBatch(&client->cache_batch_, &client->cache_pointers_,
                    /*from_cache=*/true);
  client->health_ = std::make_unique<TargetHealth>(opts.targets);
  {
    absl::MutexLock lock(&client->mode_mu_);
    client->modes_.resize(num_targets);
    for (size_t i = 0; i < num_targets; ++i) {
      client->modes_[i].status = probe->modes[i];
    }
  }

  ClientImpl* self = client.get();
  for (size_t i = 0; i < num_targets; ++i) {
    client->watchers_.push_back(std::make_unique<ModeWatcher>(
        static_cast<int>(i), control[i], opts.initial_backoff, opts.max_backoff,
        [self](int target, const v1::ModeStatus& status, uint64_t connection) {
          self->OnModeStatus(target, status, connection);
        }));
  }
  const BatchStreamShared shared{client->layout_.get(), client->queue_.get(),
                                 &client->gate_, &client->counters_,
                                 client->health_.get()};
  ChannelSettings data_settings = settings;
  data_settings.dedicated = true;
  data_settings.bulk_data = true;
  for (size_t i = 0; i < num_targets; ++i) {
    for (int c = 0; c < opts.connections_per_target; ++c) {
      BatchStreamConfig config;
      config.target_index = static_cast<int>(i);
      config.target = opts.targets[i];
      config.consumer_id = opts.consumer_id;
      config.initial_backoff = opts.initial_backoff;
      config.max_backoff = opts.max_backoff;
      client->streams_.push_back(std::make_unique<BatchStream>(
          std::move(config),
          MakeChannel(opts.targets[i], *credentials, data_settings), shared));
    }
  }
  return std::unique_ptr<Client>(std::move(client));
}

ClientImpl::ClientImpl(ClientOptions options)
    : options_(std::move(options)), created_(absl::Now()) {}

ClientImpl::~ClientImpl() {
  gate_.Shutdown();
  if (queue_ != nullptr) queue_->SetAccepting(false);
  streams_.clear();
  watchers_.clear();
  if (backend_ != nullptr) backend_->FreeCache();
}

void ClientImpl::InitBatch(Batch* batch, DevicePointers* pointers,
                           bool from_cache) {
  const int slices = layout_->num_slices();
  const auto& tensors = layout_->tensors();
  batch->global_batch_size = layout_->batch_size();
  batch->from_cache = from_cache;
  batch->devices.assign(slices, DeviceBatch());
  pointers->assign(slices, std::vector<void*>(tensors.size(), nullptr));
  for (int d = 0; d < slices; ++d) {
    DeviceBatch& device = batch->devices[d];
    device.device = options_.num_devices == 0 ? -1 : d;
    for (const TensorPlacement& t : tensors) {
      TensorView view;
      view.name = t.name;
      view.dtype = t.dtype;
      view.shape = t.slice_shape;
      view.num_bytes = t.slice_bytes;
      view.memory = backend_->memory_kind();
      view.device = device.device;
      device.tensors.push_back(std::move(view));
    }
  }
}

void ClientImpl::SetPointers(Batch* batch, const DevicePointers& pointers) {
  for (size_t d = 0; d < batch->devices.size(); ++d) {
    std::vector<TensorView>& views = batch->devices[d].tensors;
    for (size_t t = 0; t < views.size(); ++t) views[t].data = pointers[d][t];
  }
}

void ClientImpl::SetMeta(Batch* batch, const Slot& slot) {
  const v1::BatchHeader& h = slot.header;
  batch->sequence = h.sequence();
  batch->epoch = h.epoch();
  batch->mode =
      h.mode() == v1::MODE_SYNTHETIC ? BatchMode::kSynthetic : BatchMode::kReal;
  batch->mode_generation = h.mode_generation();
  batch->source = options_.targets[slot.source];
}

void ClientImpl::NoteReturned(const Batch& batch) {
  counters_.Add(counters_.batches);
  counters_.mode.store(static_cast<int>(batch.mode), std::memory_order_relaxed);
  counters_.mode_generation.store(batch.mode_generation,
                                  std::memory_order_relaxed);
  if (counters_.first_batch_nanos.load(std::memory_order_relaxed) < 0) {
    counters_.first_batch_nanos.store(
        absl::ToInt64Nanoseconds(absl::Now() - created_),
        std::memory_order_relaxed);
  }
}

absl::StatusOr<const Batch*> ClientImpl::Next() {
  if (cache_active_) {
    if (!resume_requested_.load(std::memory_order_acquire)) {
      // The hot path of synthetic mode: no lock, no allocation, no I/O.
      counters_.Add(counters_.cache_hits);
      counters_.Add(counters_.batches);
      return &cache_batch_;
    }
    LeaveCache();
  }
  if (current_ != nullptr) {
    queue_->Release(current_);
    current_ = nullptr;
  }
  const absl::Time start = absl::Now();
  counters_.Add(counters_.ready_seen_sum, queue_->ready_count());
  counters_.Add(counters_.ready_seen_count);
  while (true) {
    Slot* slot = queue_->PopReady(options_.unavailable_timeout);
    if (slot == nullptr) {
      counters_.wait_nanos.fetch_add(
          absl::ToInt64Nanoseconds(absl::Now() - start),
          std::memory_order_relaxed);
      return absl::UnavailableError(
          absl::StrCat("no batch arrived from any of ", options_.targets.size(),
                       " target(s) within ",
                       absl::FormatDuration(options_.unavailable_timeout),
                       "; last status per target: ", health_->Describe()));
    }
    if (slot->header.mode() == v1::MODE_SYNTHETIC && options_.cache_synthetic) {
      absl::StatusOr<bool> cached = EnterCache(slot);
      if (!cached.ok()) return cached.status();
      if (!*cached) continue;  // Stale synthetic batch; wait for a fresh one.
      counters_.wait_nanos.fetch_add(
          absl::ToInt64Nanoseconds(absl::Now() - start),
          std::memory_order_relaxed);
      NoteReturned(cache_batch_);
      return &cache_batch_;
    }
    counters_.wait_nanos.fetch_add(
        absl::ToInt64Nanoseconds(absl::Now() - start),
        std::memory_order_relaxed);
    if (absl::Status s = backend_->Place(slot->data, &real_pointers_);
        !s.ok()) {
      queue_->Release(slot);
      return s;
    }
    SetPointers(&real_batch_, real_pointers_);
    SetMeta(&real_batch_, *slot);
    current_ = slot;
    NoteReturned(real_batch_);
    return &real_batch_;
  }
}

absl::StatusOr<bool> ClientImpl::EnterCache(Slot* slot) {
  const v1::BatchHeader& h = slot->header;
  {
    absl::MutexLock lock(&mode_mu_);
    const v1::ModeStatus& known = modes_[slot->source].status;
    if (known.mode() == v1::MODE_REAL &&
        known.generation() > h.mode_generation()) {
      queue_->Release(slot);
      return false;
    }
    cache_snapshot_ = modes_;
    v1::ModeStatus& own = cache_snapshot_[slot->source].status;
    if (own.generation() < h.mode_generation()) {
      own.set_mode(v1::MODE_SYNTHETIC);
      own.set_generation(h.mode_generation());
    }
    cache_shared_ = true;
    resume_requested_.store(false, std::memory_order_release);
  }
  if (absl::Status s = backend_->BuildCache(slot->data, &cache_pointers_);
      !s.ok()) {
    queue_->Release(slot);
    absl::MutexLock lock(&mode_mu_);
    cache_shared_ = false;
    return absl::Status(
        s.code(), absl::StrCat("caching the synthetic batch: ", s.message()));
  }
  SetPointers(&cache_batch_, cache_pointers_);
  SetMeta(&cache_batch_, *slot);
  queue_->Release(slot);
  // Close every data stream: from now on Next() needs no network at all.
  queue_->SetAccepting(false);
  gate_.Pause();
  queue_->DrainReady();
  cache_active_ = true;
  counters_.Add(counters_.synthetic_uploads);
  return true;
}

void ClientImpl::LeaveCache() {
  {
    absl::MutexLock lock(&mode_mu_);
    cache_shared_ = false;
    resume_requested_.store(false, std::memory_order_release);
  }
  cache_active_ = false;
  backend_->FreeCache();
  queue_->SetAccepting(true);
  gate_.Resume();
}

void ClientImpl::OnModeStatus(int target, const v1::ModeStatus& status,
                              uint64_t connection) {
  absl::MutexLock lock(&mode_mu_);
  modes_[target].status = status;
  modes_[target].connection = connection;
  if (!cache_shared_ || status.mode() != v1::MODE_REAL) return;
  const TargetMode& then = cache_snapshot_[target];
  // A newer generation means the operator flipped back to real. A new watch
  // connection reporting a different generation means the server restarted
  // (generations start again at 1) and now serves real data.
  const bool newer = status.generation() > then.status.generation();
  const bool restarted = connection != then.connection &&
                         status.generation() != then.status.generation();
  if (newer || restarted) {
    resume_requested_.store(true, std::memory_order_release);
  }
}

ClientStats ClientImpl::stats() const {
  ClientStats s;
  const auto load = [](const std::atomic<uint64_t>& c) {
    return c.load(std::memory_order_relaxed);
  };
  s.batches = load(counters_.batches);
  s.batches_received = load(counters_.batches_received);
  s.bytes_received = load(counters_.bytes_received);
  s.cache_hits = load(counters_.cache_hits);
  s.synthetic_uploads = load(counters_.synthetic_uploads);
  s.reconnects = load(counters_.reconnects);
  s.stream_errors = load(counters_.stream_errors);
  s.wait_seconds = counters_.wait_nanos.load(std::memory_order_relaxed) * 1e-9;
  const int64_t first =
      counters_.first_batch_nanos.load(std::memory_order_relaxed);
  s.time_to_first_batch_seconds = first < 0 ? -1.0 : first * 1e-9;
  s.prefetch_depth = options_.prefetch_batches;
  s.prefetch_ready = queue_ != nullptr ? queue_->ready_count() : 0;
  const uint64_t looks = load(counters_.ready_seen_count);
  s.prefetch_occupancy =
      looks == 0 ? 0.0
                 : static_cast<double>(load(counters_.ready_seen_sum)) / looks;
  s.mode_generation = load(counters_.mode_generation);
  s.mode =
      static_cast<BatchMode>(counters_.mode.load(std::memory_order_relaxed));
  return s;
}

}  // namespace inputserve::client_internal

namespace inputserve {

absl::StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  return client_internal::ClientImpl::Create(std::move(options));
}

}  // namespace inputserve
