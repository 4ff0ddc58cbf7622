// TargetHealth: the last status each target's streams reported, for the
// message of Next()'s UNAVAILABLE error. Thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_TARGET_HEALTH_H_
#define INPUTSERVE_CLIENT_TRANSPORT_TARGET_HEALTH_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace inputserve::client_internal {

class TargetHealth {
 public:
  explicit TargetHealth(std::vector<std::string> targets);

  void Set(int target, std::string status);
  // "127.0.0.1:1: UNAVAILABLE: ...; 127.0.0.1:2: streaming".
  std::string Describe() const;

 private:
  const std::vector<std::string> targets_;
  mutable absl::Mutex mu_;
  std::vector<std::string> last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_TARGET_HEALTH_H_
