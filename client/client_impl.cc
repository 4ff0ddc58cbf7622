#include "client/client_impl.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/options_validation.h"
#include "client/transport/bearer_token.h"
#include "client/transport/channel.h"
#include "client/transport/dataset_probe.h"
#include "common/element_type_wire.h"
#include "common/status_macros.h"

namespace inputserve::client_internal {

namespace {

// Every server address the targets stand for, in target order.
absl::StatusOr<std::vector<EndpointSpec>> ExpandTargets(
    const std::vector<std::string>& targets, const Resolver& resolver) {
  std::vector<EndpointSpec> specs;
  for (size_t i = 0; i < targets.size(); ++i) {
    absl::StatusOr<std::vector<EndpointSpec>> expanded =
        ExpandTarget(targets[i], static_cast<int>(i), resolver);
    if (!expanded.ok()) return expanded.status();
    for (EndpointSpec& spec : *expanded) specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> ClientImpl::Create(
    ClientOptions options, Resolver resolver) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<std::vector<EndpointSpec>> specs =
      ExpandTargets(options.targets, resolver);
  if (!specs.ok()) return specs.status();

  std::unique_ptr<ClientImpl> client(new ClientImpl(std::move(options)));
  INPUTSERVE_RETURN_IF_ERROR(client->InitializeChannelSettings(
      std::move(resolver), *std::move(credentials)));
  // Control channels carry GetDatasetInfo and WatchMode; data streams get
  // dedicated channels (their own TCP connections) in AddEndpoint.
  std::vector<std::string> names;
  std::vector<std::shared_ptr<grpc::Channel>> control;
  for (const EndpointSpec& spec : *specs) {
    names.push_back(spec.name);
    control.push_back(client->MakeEndpointChannel(spec, /*data=*/false));
  }
  absl::StatusOr<ProbeResult> probe =
      ProbeTargets(names, control, client->options_.connect_timeout);
  if (!probe.ok()) return probe.status();
  if (client->options_.ordering == Ordering::kDeterministic) {
    absl::StatusOr<OrderSetup> order =
        PlanOrder(client->options_, names, *probe);
    if (!order.ok()) return order.status();
    client->order_ = std::make_unique<OrderSetup>(*std::move(order));
  }
  if (absl::Status s = client->InitializeLayout(names, *probe); !s.ok()) {
    return s;
  }
  if (absl::Status s = client->InitializeBuffers(); !s.ok()) return s;
  client->StartEndpoints(*specs, control, probe->modes);
  return std::unique_ptr<Client>(std::move(client));
}

absl::Status ClientImpl::InitializeChannelSettings(
    Resolver resolver,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  resolver_ = std::move(resolver);
  credentials_ = std::move(credentials);
  settings_.keepalive_time = options_.keepalive_time;
  settings_.keepalive_timeout = options_.keepalive_timeout;
  settings_.reconnect_initial_backoff = options_.initial_backoff;
  settings_.reconnect_max_backoff = options_.max_backoff;
  if (!options_.data_token_file.empty()) {
    INPUTSERVE_ASSIGN_OR_RETURN(
        settings_.bearer_token,
        BearerTokenFile::Open(options_.data_token_file));
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> ClientImpl::MakeEndpointChannel(
    const EndpointSpec& spec, bool data) const {
  ChannelSettings settings = settings_;
  settings.authority = spec.authority;
  settings.tls_name = spec.tls_name;
  settings.dedicated = data;
  settings.bulk_data = data;
  return MakeChannel(spec.address, credentials_, settings);
}

absl::Status ClientImpl::InitializeLayout(const std::vector<std::string>& names,
                                          const ProbeResult& probe) {
  const int batch = static_cast<int>(probe.info.batch_size());
  if (absl::Status s = CheckBatchDivisible(batch, options_.num_devices);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<BatchLayout> layout = BatchLayout::Create(
      batch, probe.info.tensors(), std::max(1, options_.num_devices));
  if (!layout.ok()) {
    return absl::Status(layout.status().code(),
                        absl::StrCat("dataset served by the targets is not "
                                     "usable: ",
                                     layout.status().message()));
  }
  layout_ = std::make_unique<BatchLayout>(*std::move(layout));
  info_ = MakeDatasetInfo(names, probe);
  return absl::OkStatus();
}

absl::Status ClientImpl::InitializeBuffers() {
  absl::StatusOr<std::unique_ptr<DeviceBackend>> backend =
      CreateDeviceBackend(options_, layout_.get());
  if (!backend.ok()) return backend.status();
  backend_ = *std::move(backend);
  std::shared_ptr<DeviceBackend> shared_backend = backend_;
  // One slot more than the prefetch depth: the caller holds one while up to
  // prefetch_batches are received ahead (never more, so the depth reported
  // in stats() is the real bound). Handles held longer grow the pool. In
  // deterministic order every used shard may run at least one step ahead.
  const int ahead = order_ != nullptr
                        ? OrderedWindow(*order_, options_.prefetch_batches)
                        : options_.prefetch_batches;
  absl::StatusOr<std::unique_ptr<BatchQueue>> queue = BatchQueue::Create(
      ahead + 1, layout_->payload_bytes(),
      [shared_backend](size_t n) { return shared_backend->AllocateHost(n); },
      [shared_backend](void* p) { shared_backend->FreeHost(p); }, ahead,
      /*grow_when_held=*/true);
  if (!queue.ok()) return queue.status();
  queue_ = *std::move(queue);
  if (order_ != nullptr) queue_->SetOrdered(options_.start_step);
  pointers_.assign(layout_->num_slices(),
                   std::vector<void*>(layout_->tensors().size(), nullptr));
  return absl::OkStatus();
}

DatasetInfo MakeDatasetInfo(const std::vector<std::string>& names,
                            const ProbeResult& probe) {
  DatasetInfo info;
  const v1::DatasetInfo& agreed = probe.info;
  info.dataset = agreed.dataset();
  info.batch_size = static_cast<int>(agreed.batch_size());
  info.batch_payload_bytes = agreed.batch_payload_bytes();
  info.num_classes = static_cast<int>(agreed.num_classes());
  info.class_names.assign(agreed.class_names().begin(),
                          agreed.class_names().end());
  // BatchLayout::Create has already refused unknown dtypes.
  for (const v1::TensorSpec& t : agreed.tensors()) {
    info.tensors.push_back(
        {t.name(),
         ElementTypeFromProto(t.dtype()).value_or(ElementType::kUint8),
         {t.shape().begin(), t.shape().end()}});
  }
  std::set<std::pair<uint32_t, uint32_t>> counted;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!probe.answered_by[i]) continue;
    const v1::DatasetInfo& own = probe.infos[i];
    info.shards.push_back({names[i], own.dataset(), own.shard_index(),
                           own.num_shards(), own.examples_per_epoch()});
    if (counted.insert({own.shard_index(), own.num_shards()}).second) {
      info.examples_per_epoch += own.examples_per_epoch();
    }
  }
  return info;
}

ClientImpl::ClientImpl(ClientOptions options)
    : options_(std::move(options)), created_(absl::Now()) {}

ClientImpl::~ClientImpl() {
  {
    absl::MutexLock lock(&refresh_mu_);
    stop_refresh_ = true;
  }
  {
    absl::MutexLock lock(&endpoints_mu_);
    shutting_down_ = true;
    for (const auto& endpoint : endpoints_) endpoint->Shutdown();
    if (reader_ != nullptr) reader_->Shutdown();
  }
  // Wakes streams waiting for a slot, including those a refresh is retiring.
  if (queue_ != nullptr) queue_->SetAccepting(false);
  if (refresher_.joinable()) refresher_.join();  // It may add replicas.
  reader_.reset();
  {
    absl::MutexLock lock(&endpoints_mu_);
    endpoints_.clear();
  }
  // Handles still held keep their slots (and the queue) alive.
  held_.reset();
  cache_.reset();
}

void ClientImpl::InitBatch(Batch* batch, bool from_cache) const {
  const int slices = layout_->num_slices();
  const auto& tensors = layout_->tensors();
  batch->global_batch_size = layout_->batch_size();
  batch->from_cache = from_cache;
  batch->devices.assign(slices, DeviceBatch());
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
  health_->CopyName(slot.source, &batch->source);
  if (order_ != nullptr) {
    // A synthetic batch stands in for the next real step without taking it.
    batch->step =
        h.mode() == v1::MODE_SYNTHETIC ? queue_->next_step() : h.step();
    batch->epoch = order_->plan.At(batch->step).epoch;
  }
}

void ClientImpl::SetRows(Batch* batch, const Slot& slot) {
  const int rows = static_cast<int>(slot.header.tensors(0).shape(0));
  const auto& tensors = layout_->tensors();
  for (size_t d = 0; d < batch->devices.size(); ++d) {
    const int n = layout_->SliceRows(rows, static_cast<int>(d));
    std::vector<TensorView>& views = batch->devices[d].tensors;
    for (size_t t = 0; t < views.size(); ++t) {
      views[t].shape[0] = n;
      views[t].num_bytes = tensors[t].num_bytes / layout_->batch_size() * n;
    }
  }
}

uint64_t ClientImpl::CountCacheHit() {
  counters_.Add(counters_.cache_hits);
  const uint64_t n = counters_.batches.fetch_add(1, std::memory_order_relaxed);
  return order_ != nullptr ? cache_step_ : n;
}

uint64_t ClientImpl::NoteReturned(const Batch& batch) {
  uint64_t step = counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (order_ != nullptr) step = batch.step;  // SetMeta: the plan's step.
  counters_.mode.store(static_cast<int>(batch.mode), std::memory_order_relaxed);
  counters_.mode_generation.store(batch.mode_generation,
                                  std::memory_order_relaxed);
  if (counters_.first_batch_nanos.load(std::memory_order_relaxed) < 0) {
    counters_.first_batch_nanos.store(
        absl::ToInt64Nanoseconds(absl::Now() - created_),
        std::memory_order_relaxed);
  }
  return step;
}

std::shared_ptr<const Batch> ClientImpl::HandOut(Slot* slot, DeviceLease lease) {
  // The deleter holds the queue: a handle may outlive the client.
  struct Return {
    std::shared_ptr<BatchQueue> queue;
    Slot* slot;
    DeviceLease lease;
    void operator()(const Batch*) {
      lease.reset();  // Device memory first, then the host slot behind it.
      queue->Release(slot);
    }
  };
  return std::shared_ptr<const Batch>(&slot->batch,
                                      Return{queue_, slot, std::move(lease)});
}

std::shared_ptr<const Batch> ClientImpl::CacheHandle(uint64_t step) const {
  // A copy of the skeleton, so each handle has its own step; it shares (and
  // keeps) the cache's device memory.
  struct Owned {
    Batch batch;
    std::shared_ptr<Batch> cache;
  };
  auto owned = std::make_shared<Owned>(Owned{*cache_, cache_});
  owned->batch.step = step;
  return std::shared_ptr<const Batch>(owned, &owned->batch);
}

absl::StatusOr<const Batch*> ClientImpl::Next() {
  if (cache_active_ && !resume_requested_.load(std::memory_order_acquire)) {
    // The hot path of synthetic mode: no lock, no allocation, no I/O.
    cache_->step = CountCacheHit();
    return cache_.get();
  }
  // Release the last batch before waiting, so the pool never grows for it.
  held_.reset();
  absl::StatusOr<std::shared_ptr<const Batch>> batch =
      TryNextShared(absl::InfiniteDuration());
  if (!batch.ok()) return batch.status();
  held_ = *std::move(batch);
  if (held_->from_cache) {
    // Next() callers see one cache batch for the whole synthetic stretch.
    cache_->step = held_->step;
    held_.reset();
    return cache_.get();
  }
  return held_.get();
}

absl::StatusOr<std::shared_ptr<const Batch>> ClientImpl::TryNextShared(
    absl::Duration max_wait) {
  if (cache_active_) {
    if (!resume_requested_.load(std::memory_order_acquire)) {
      return CacheHandle(CountCacheHit());
    }
    LeaveCache();
  }
  if (order_ != nullptr && order_->end_step != 0 &&
      queue_->next_step() >= order_->end_step) {
    return absl::OutOfRangeError(absl::StrCat(
        "the ", options_.num_epochs, " epoch(s) asked for are over (",
        order_->plan.steps_per_epoch(), " steps per epoch, ending at step ",
        order_->end_step, ")"));
  }
  const absl::Time start = absl::Now();
  if (waiting_since_ == absl::InfinitePast()) {
    // The first call of this wait samples how far ahead the input is.
    waiting_since_ = start;
    counters_.Add(counters_.ready_seen_sum, queue_->ready_count());
    counters_.Add(counters_.ready_seen_count);
  }
  // unavailable_timeout runs across calls that return DEADLINE_EXCEEDED.
  const absl::Time give_up = waiting_since_ + options_.unavailable_timeout;
  const absl::Time until = std::min(give_up, start + max_wait);
  const auto count_wait = [this, start] {
    counters_.wait_nanos.fetch_add(
        absl::ToInt64Nanoseconds(absl::Now() - start),
        std::memory_order_relaxed);
  };
  while (true) {
    Slot* slot = queue_->PopReady(until - absl::Now());
    if (slot == nullptr) {
      count_wait();
      if (absl::Now() < give_up) {
        return absl::DeadlineExceededError(
            absl::StrCat("no batch within ", absl::FormatDuration(max_wait),
                         "; still waiting (nothing was consumed)"));
      }
      waiting_since_ = absl::InfinitePast();
      return absl::UnavailableError(
          absl::StrCat("no batch arrived from any of ", health_->live(),
                       " server address(es) within ",
                       absl::FormatDuration(options_.unavailable_timeout),
                       "; last status per target: ", health_->Describe()));
    }
    if (slot->header.mode() == v1::MODE_SYNTHETIC && options_.cache_synthetic) {
      absl::StatusOr<bool> cached = EnterCache(slot);
      if (!cached.ok()) return cached.status();
      if (!*cached) continue;  // Stale synthetic batch; wait for a fresh one.
      count_wait();
      waiting_since_ = absl::InfinitePast();
      return CacheHandle(NoteReturned(*cache_));
    }
    count_wait();
    waiting_since_ = absl::InfinitePast();
    absl::StatusOr<DeviceLease> lease = backend_->Place(slot->data, &pointers_);
    if (!lease.ok()) {
      queue_->Release(slot);
      return lease.status();
    }
    Batch& batch = slot->batch;
    if (batch.devices.empty()) InitBatch(&batch, /*from_cache=*/false);
    SetPointers(&batch, pointers_);
    SetMeta(&batch, *slot);
    if (order_ != nullptr) SetRows(&batch, *slot);
    batch.step = NoteReturned(batch);
    return HandOut(slot, *std::move(lease));
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
  absl::StatusOr<DeviceLease> lease =
      backend_->BuildCache(slot->data, &pointers_);
  if (!lease.ok()) {
    queue_->Release(slot);
    absl::MutexLock lock(&mode_mu_);
    cache_shared_ = false;
    return absl::Status(lease.status().code(),
                        absl::StrCat("caching the synthetic batch: ",
                                     lease.status().message()));
  }
  // The cache batch owns the lease: the device copies live as long as it
  // or any handle of it does.
  Batch* batch = new Batch();
  cache_ = std::shared_ptr<Batch>(batch, [lease = *std::move(lease)](
                                             Batch* b) { delete b; });
  InitBatch(batch, /*from_cache=*/true);
  SetPointers(batch, pointers_);
  SetMeta(batch, *slot);
  cache_step_ = batch->step;
  queue_->Release(slot);
  // Close every data stream: from now on Next() needs no network at all.
  queue_->SetAccepting(false);
  PauseStreams();
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
  cache_.reset();  // Handles still held keep the device copies.
  queue_->SetAccepting(true);
  ResumeStreams();
}

void ClientImpl::OnModeStatus(int target, const v1::ModeStatus& status,
                              uint64_t connection) {
  absl::MutexLock lock(&mode_mu_);
  modes_[target].status = status;
  modes_[target].connection = connection;
  if (!cache_shared_ || status.mode() != v1::MODE_REAL) return;
  // An endpoint added after the cache was built (a new address in DNS,
  // typically a restarted replica) compares against "never seen".
  static const TargetMode kUnseen;
  const bool known = static_cast<size_t>(target) < cache_snapshot_.size();
  const TargetMode& then = known ? cache_snapshot_[target] : kUnseen;
  // A newer generation means the operator flipped back to real. A new watch
  // connection reporting a different generation means the server restarted
  // (generations start again at 1) and now serves real data. Connection 0
  // is Create()'s probe: the watcher's first connection reaches the same
  // server, and may report its older status only after the cache is built.
  const bool first_after_probe =
      known && then.connection == 0 && connection == 1;
  const bool newer = status.generation() > then.status.generation();
  const bool restarted = !first_after_probe && connection != then.connection &&
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
  s.h2d_bytes = backend_ != nullptr ? backend_->h2d_bytes() : 0;
  s.reconnects = load(counters_.reconnects);
  s.stream_errors = load(counters_.stream_errors);
  s.wait_seconds = counters_.wait_nanos.load(std::memory_order_relaxed) * 1e-9;
  const int64_t first =
      counters_.first_batch_nanos.load(std::memory_order_relaxed);
  s.time_to_first_batch_seconds = first < 0 ? -1.0 : first * 1e-9;
  s.prefetch_depth = options_.prefetch_batches;
  s.prefetch_ready = queue_ != nullptr ? queue_->ready_count() : 0;
  s.pool_slots = queue_ != nullptr ? queue_->num_slots() : 0;
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
