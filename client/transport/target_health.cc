#include "client/transport/target_health.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace inputserve::client_internal {

TargetHealth::TargetHealth(std::vector<std::string> targets)
    : targets_(std::move(targets)),
      last_(targets_.size(), "not connected yet") {}

void TargetHealth::Set(int target, std::string status) {
  absl::MutexLock lock(&mu_);
  last_[target] = std::move(status);
}

std::string TargetHealth::Describe() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (size_t i = 0; i < targets_.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : "; ", targets_[i], ": ", last_[i]);
  }
  return out;
}

}  // namespace inputserve::client_internal
