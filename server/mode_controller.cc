#include "server/mode_controller.h"

#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace inputserve {

absl::string_view ServingModeName(ServingMode mode) {
  return mode == ServingMode::kSynthetic ? "synthetic" : "real";
}

ModeController::ModeController(ServingMode initial) {
  state_.mode = initial;
  state_.generation = 1;
  state_.changed_unix_micros = absl::ToUnixMicros(absl::Now());
}

ModeState ModeController::Get() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

ModeState ModeController::Set(ServingMode mode) {
  // notify_mu_ first: changes and their notifications are delivered in order.
  absl::MutexLock notify_lock(&notify_mu_);
  ModeState now;
  {
    absl::MutexLock lock(&mu_);
    if (state_.mode == mode) return state_;
    state_.mode = mode;
    ++state_.generation;
    state_.changed_unix_micros = absl::ToUnixMicros(absl::Now());
    now = state_;
  }
  for (auto& [id, callback] : subscribers_) callback(now);
  return now;
}

uint64_t ModeController::Subscribe(Callback callback) {
  absl::MutexLock lock(&notify_mu_);
  const uint64_t id = next_id_++;
  subscribers_.emplace(id, std::move(callback));
  return id;
}

void ModeController::Unsubscribe(uint64_t id) {
  absl::MutexLock lock(&notify_mu_);
  subscribers_.erase(id);
}

}  // namespace inputserve
