// Backoff: exponential reconnect delays with +/-20% jitter, so many clients
// that lost the same server do not all come back in the same instant.
// Not thread-safe; one per stream.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_BACKOFF_H_
#define INPUTSERVE_CLIENT_TRANSPORT_BACKOFF_H_

#include <cstdint>

#include "absl/random/random.h"
#include "absl/time/time.h"

namespace inputserve::client_internal {

class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max);
  // The delay before the next attempt: initial * 2^n, capped at max, jittered.
  absl::Duration Next();
  // After a success: start again from `initial`.
  void Reset() { current_ = initial_; }

 private:
  absl::Duration initial_;
  absl::Duration max_;
  absl::Duration current_;
  absl::BitGen gen_;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_BACKOFF_H_
