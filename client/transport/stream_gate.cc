#include "client/transport/stream_gate.h"

namespace inputserve::client_internal {

bool StreamGate::WaitOpen() {
  absl::MutexLock lock(&mu_);
  auto can_go = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shutdown_ || !paused_;
  };
  mu_.Await(absl::Condition(&can_go));
  return !shutdown_;
}

bool StreamGate::Register(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (paused_ || shutdown_) return false;
  active_.insert(context);
  return true;
}

void StreamGate::Unregister(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  active_.erase(context);
}

bool StreamGate::SleepFor(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  auto closed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shutdown_ || paused_;
  };
  return !mu_.AwaitWithTimeout(absl::Condition(&closed), d);
}

bool StreamGate::open() const {
  absl::MutexLock lock(&mu_);
  return !paused_ && !shutdown_;
}

void StreamGate::Pause() {
  absl::MutexLock lock(&mu_);
  paused_ = true;
  for (grpc::ClientContext* context : active_) context->TryCancel();
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return active_.empty();
  };
  mu_.Await(absl::Condition(&idle));
}

void StreamGate::Resume() {
  absl::MutexLock lock(&mu_);
  paused_ = false;
}

void StreamGate::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
  for (grpc::ClientContext* context : active_) context->TryCancel();
}

}  // namespace inputserve::client_internal
