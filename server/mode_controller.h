// ModeController: the server's serving mode (real or synthetic) and its
// generation, with push notification of every change.
//
// This class is thread-safe. Subscriber callbacks run on the thread that
// changed the mode, under the controller's notification lock: they must be
// quick and must not call back into the controller.
#ifndef INPUTSERVE_SERVER_MODE_CONTROLLER_H_
#define INPUTSERVE_SERVER_MODE_CONTROLLER_H_

#include <cstdint>
#include <functional>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace inputserve {

enum class ServingMode { kReal, kSynthetic };

absl::string_view ServingModeName(ServingMode mode);  // "real" / "synthetic"

struct ModeState {
  ServingMode mode = ServingMode::kReal;
  uint64_t generation = 1;  // Starts at 1; +1 on every change of mode.
  int64_t changed_unix_micros = 0;
};

class ModeController {
 public:
  using Callback = std::function<void(const ModeState&)>;

  explicit ModeController(ServingMode initial);

  ModeState Get() const;
  // Sets the mode. A change increments the generation and notifies every
  // subscriber; setting the current mode again changes nothing. Returns the
  // state after the call.
  ModeState Set(ServingMode mode);

  // Registers `callback` for every future change; returns an id for
  // Unsubscribe. After Unsubscribe returns the callback is never running.
  uint64_t Subscribe(Callback callback);
  void Unsubscribe(uint64_t id);

 private:
  mutable absl::Mutex mu_;
  ModeState state_ ABSL_GUARDED_BY(mu_);
  // Held while callbacks run so Unsubscribe can wait them out.
  absl::Mutex notify_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(notify_mu_) = 1;
  std::map<uint64_t, Callback> subscribers_ ABSL_GUARDED_BY(notify_mu_);
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_MODE_CONTROLLER_H_
