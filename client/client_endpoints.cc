// ClientImpl's endpoints: one per server address, their watchers and data
// streams (or, in deterministic order, the ordered reader's per-shard
// streams), pausing them for the synthetic cache, and the DNS refresher that
// adds and retires addresses.
#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/client_impl.h"
#include "client/transport/channel.h"
#include "client/transport/dataset_probe.h"

namespace inputserve::client_internal {
namespace {

bool AnyDnsTarget(const std::vector<std::string>& targets) {
  for (const std::string& target : targets) {
    absl::StatusOr<std::optional<DnsName>> dns = ParseDnsTarget(target);
    if (dns.ok() && dns->has_value()) return true;
  }
  return false;
}

}  // namespace

void ClientImpl::StartEndpoints(
    const std::vector<EndpointSpec>& specs,
    const std::vector<std::shared_ptr<grpc::Channel>>& control,
    const std::vector<v1::ModeStatus>& modes) {
  health_ = std::make_unique<TargetHealth>();
  {
    // Before the watchers start, so their first report is not overwritten.
    absl::MutexLock lock(&mode_mu_);
    modes_.resize(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) modes_[i].status = modes[i];
  }
  {
    absl::MutexLock lock(&endpoints_mu_);
    for (size_t i = 0; i < specs.size(); ++i) AddEndpoint(specs[i], control[i]);
  }
  if (order_ != nullptr) StartOrderedReader(specs);
  if (AnyDnsTarget(options_.targets) &&
      options_.dns_refresh > absl::ZeroDuration()) {
    refresher_ = std::thread([this] { RefreshLoop(); });
  }
}

void ClientImpl::StartOrderedReader(const std::vector<EndpointSpec>& specs) {
  std::vector<std::vector<StreamReplica>> replicas(order_->replicas.size());
  for (uint32_t s = 0; s < replicas.size(); ++s) {
    if (!order_->plan.UsesShard(s)) continue;
    // Endpoint (and TargetHealth) index i is spec i: Create() added them in
    // order.
    for (int i : order_->replicas[s]) {
      replicas[s].push_back(
          {i, specs[i].name, MakeEndpointChannel(specs[i], /*data=*/true)});
    }
  }
  BatchStreamShared shared{layout_.get(), queue_.get(), nullptr, &counters_,
                           health_.get()};
  shared.backend = backend_.get();
  absl::MutexLock lock(&endpoints_mu_);
  reader_ = std::make_unique<OrderedReader>(
      order_.get(), options_, std::move(replicas), shared, streams_paused_);
}

void ClientImpl::AddEndpoint(const EndpointSpec& spec,
                             std::shared_ptr<grpc::Channel> control) {
  EndpointParams params;
  params.index = health_->Add(spec.name);
  params.spec = spec;
  params.consumer_id = options_.consumer_id;
  params.initial_backoff = options_.initial_backoff;
  params.max_backoff = options_.max_backoff;
  params.start_paused = streams_paused_;
  {
    absl::MutexLock lock(&mode_mu_);
    // Create() has already filled in the modes its probe saw.
    if (modes_.size() <= static_cast<size_t>(params.index)) {
      modes_.resize(params.index + 1);
    }
  }
  if (control == nullptr) control = MakeEndpointChannel(spec, /*data=*/false);
  // In deterministic order the OrderedReader streams; endpoints only watch
  // the mode.
  std::vector<std::shared_ptr<grpc::Channel>> data;
  const int connections =
      order_ != nullptr ? 0 : options_.connections_per_target;
  for (int c = 0; c < connections; ++c) {
    data.push_back(MakeEndpointChannel(spec, /*data=*/true));
  }
  BatchStreamShared shared{layout_.get(), queue_.get(), nullptr, &counters_,
                           health_.get()};
  shared.backend = backend_.get();  // Copies to the devices start early.
  endpoints_.push_back(std::make_unique<Endpoint>(
      std::move(params), std::move(control), data, shared,
      [this](int target, const v1::ModeStatus& status, uint64_t connection) {
        OnModeStatus(target, status, connection);
      }));
}

void ClientImpl::PauseStreams() {
  absl::MutexLock lock(&endpoints_mu_);
  streams_paused_ = true;
  for (const auto& endpoint : endpoints_) endpoint->Pause();
  if (reader_ != nullptr) reader_->Pause();
}

void ClientImpl::ResumeStreams() {
  absl::MutexLock lock(&endpoints_mu_);
  streams_paused_ = false;
  if (reader_ != nullptr) reader_->Resume();
  for (const auto& endpoint : endpoints_) endpoint->Resume();
}

void ClientImpl::RefreshLoop() {
  while (true) {
    {
      absl::MutexLock lock(&refresh_mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(refresh_mu_) {
        return stop_refresh_;
      };
      if (refresh_mu_.AwaitWithTimeout(absl::Condition(&stop),
                                       options_.dns_refresh)) {
        return;
      }
    }
    Refresh();
  }
}

void ClientImpl::Refresh() {
  for (size_t group = 0; group < options_.targets.size(); ++group) {
    const std::string& target = options_.targets[group];
    absl::StatusOr<std::optional<DnsName>> dns = ParseDnsTarget(target);
    if (!dns.ok() || !dns->has_value()) continue;
    absl::StatusOr<std::vector<EndpointSpec>> specs =
        ExpandTarget(target, static_cast<int>(group), resolver_);
    if (!specs.ok()) continue;  // Keep what we have; retry next round.
    std::vector<std::unique_ptr<Endpoint>> retired;
    std::vector<Unplaced> added;
    {
      absl::MutexLock lock(&endpoints_mu_);
      if (shutting_down_) return;
      std::set<std::string> current;
      for (auto it = endpoints_.begin(); it != endpoints_.end();) {
        const EndpointSpec& have = (*it)->spec();
        const bool gone = have.group == static_cast<int>(group) &&
                          std::none_of(specs->begin(), specs->end(),
                                       [&have](const EndpointSpec& s) {
                                         return s.address == have.address;
                                       });
        if (have.group == static_cast<int>(group)) current.insert(have.address);
        if (!gone) {
          ++it;
          continue;
        }
        // Cancel now; join below, outside the lock.
        (*it)->Shutdown();
        health_->Retire((*it)->index());
        retired.push_back(std::move(*it));
        it = endpoints_.erase(it);
      }
      for (const EndpointSpec& spec : *specs) {
        if (current.count(spec.address) != 0) continue;
        AddEndpoint(spec, nullptr);
        added.push_back({spec, endpoints_.back()->index()});
      }
    }
    if (reader_ != nullptr) {
      for (const auto& endpoint : retired) {
        reader_->RemoveReplica(endpoint->index());
        unplaced_.erase(std::remove_if(unplaced_.begin(), unplaced_.end(),
                                       [&endpoint](const Unplaced& u) {
                                         return u.index == endpoint->index();
                                       }),
                        unplaced_.end());
      }
      unplaced_.insert(unplaced_.end(), added.begin(), added.end());
    }
    // A stream waiting for a free slot ends once Next() frees one (or the
    // client shuts down); meanwhile the other endpoints keep streaming.
    retired.clear();
  }
  if (reader_ != nullptr) PlaceReplicas();
}

void ClientImpl::PlaceReplicas() {
  for (auto it = unplaced_.begin(); it != unplaced_.end();) {
    {
      absl::MutexLock lock(&refresh_mu_);
      if (stop_refresh_) return;
    }
    absl::StatusOr<ProbeResult> probe =
        ProbeTargets({it->spec.name}, {MakeEndpointChannel(it->spec, false)},
                     options_.connect_timeout);
    if (!probe.ok() &&
        probe.status().code() == absl::StatusCode::kUnavailable) {
      ++it;  // Not serving yet: ask again on the next refresh.
      continue;
    }
    absl::StatusOr<uint32_t> shard =
        probe.ok() ? ShardOfReplica(*order_, it->spec.name, probe->infos[0])
                   : absl::StatusOr<uint32_t>(probe.status());
    if (shard.ok()) {
      reader_->AddReplica(*shard, {it->index, it->spec.name,
                                   MakeEndpointChannel(it->spec, true)});
    } else {
      health_->Set(it->index, shard.status().ToString());
    }
    it = unplaced_.erase(it);
  }
}

}  // namespace inputserve::client_internal
