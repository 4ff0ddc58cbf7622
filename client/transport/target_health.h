// TargetHealth: the name of every endpoint (server address) the client has
// used and the last status its streams reported, for Batch::source and the
// message of Next()'s UNAVAILABLE error. Endpoints are added as targets are
// resolved and retired when their address leaves DNS; indices are never
// reused. Thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_TARGET_HEALTH_H_
#define INPUTSERVE_CLIENT_TRANSPORT_TARGET_HEALTH_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace inputserve::client_internal {

class TargetHealth {
 public:
  TargetHealth() = default;
  explicit TargetHealth(const std::vector<std::string>& targets);

  // Registers an endpoint; returns its index (0, 1, 2, ... in call order).
  int Add(std::string name);
  // Leaves it out of Describe() and live().
  void Retire(int target);
  void Set(int target, std::string status);
  // Its name, into `out`'s existing buffer (no allocation per batch).
  void CopyName(int target, std::string* out) const;
  int live() const;
  // "127.0.0.1:1: UNAVAILABLE: ...; 127.0.0.1:2: streaming" (live ones).
  std::string Describe() const;

 private:
  struct Entry {
    std::string name;
    std::string last = "not connected yet";
    bool retired = false;
  };
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_TARGET_HEALTH_H_
