#include "client/transport/backoff.h"

#include <algorithm>

namespace inputserve::client_internal {

Backoff::Backoff(absl::Duration initial, absl::Duration max)
    : initial_(initial), max_(max), current_(initial) {}

absl::Duration Backoff::Next() {
  const absl::Duration base = current_;
  current_ = std::min(current_ * 2, max_);
  return base * absl::Uniform(gen_, 0.8, 1.2);
}

}  // namespace inputserve::client_internal
