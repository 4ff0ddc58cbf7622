#include "client/endpoint.h"

#include <utility>

namespace inputserve::client_internal {

Endpoint::Endpoint(EndpointParams params,
                   std::shared_ptr<grpc::Channel> control,
                   const std::vector<std::shared_ptr<grpc::Channel>>& data,
                   BatchStreamShared shared, ModeWatcher::Callback on_mode)
    : params_(std::move(params)) {
  // Paused before any stream starts, so none opens while the client serves
  // its synthetic cache.
  if (params_.start_paused) gate_.Pause();
  watcher_ = std::make_unique<ModeWatcher>(
      params_.index, std::move(control), params_.initial_backoff,
      params_.max_backoff, std::move(on_mode));
  shared.gate = &gate_;
  for (const std::shared_ptr<grpc::Channel>& channel : data) {
    BatchStreamConfig config;
    config.target_index = params_.index;
    config.target = params_.spec.name;
    config.consumer_id = params_.consumer_id;
    config.initial_backoff = params_.initial_backoff;
    config.max_backoff = params_.max_backoff;
    streams_.push_back(
        std::make_unique<BatchStream>(std::move(config), channel, shared));
  }
}

Endpoint::~Endpoint() {
  gate_.Shutdown();
  streams_.clear();
  watcher_.reset();
}

}  // namespace inputserve::client_internal
