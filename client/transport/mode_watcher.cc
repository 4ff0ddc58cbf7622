#include "client/transport/mode_watcher.h"

#include <utility>

#include "client/transport/backoff.h"
#include "inputserve/v1/input_service.grpc.pb.h"

namespace inputserve::client_internal {

ModeWatcher::ModeWatcher(int target_index,
                         std::shared_ptr<grpc::Channel> channel,
                         absl::Duration initial_backoff,
                         absl::Duration max_backoff, Callback callback)
    : target_index_(target_index),
      channel_(std::move(channel)),
      initial_backoff_(initial_backoff),
      max_backoff_(max_backoff),
      callback_(std::move(callback)),
      thread_([this] { Run(); }) {}

ModeWatcher::~ModeWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  thread_.join();
}

void ModeWatcher::Run() {
  auto stub = v1::InputService::NewStub(channel_);
  Backoff backoff(initial_backoff_, max_backoff_);
  uint64_t connection = 0;
  while (true) {
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      active_ = &context;
    }
    ++connection;
    auto reader = stub->WatchMode(&context, v1::WatchModeRequest());
    v1::ModeStatus status;
    bool got_any = false;
    while (reader->Read(&status)) {
      got_any = true;
      callback_(target_index_, status, connection);
    }
    reader->Finish();
    if (got_any) backoff.Reset();
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
    auto stopped = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped), backoff.Next())) {
      return;
    }
  }
}

}  // namespace inputserve::client_internal
