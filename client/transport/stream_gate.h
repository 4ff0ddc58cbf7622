// StreamGate: opens and closes all data streams of a client at once. Pause()
// cancels every call in flight and waits until each has ended, so when it
// returns no data stream is open (the synthetic cache needs no network);
// Resume() lets the streams reconnect; Shutdown() ends them for good.
// Thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_STREAM_GATE_H_
#define INPUTSERVE_CLIENT_TRANSPORT_STREAM_GATE_H_

#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"

namespace inputserve::client_internal {

class StreamGate {
 public:
  // Blocks while paused; false once shut down.
  bool WaitOpen();
  // Records a call about to start so Pause/Shutdown can cancel it; false
  // (do not start) when paused or shut down.
  bool Register(grpc::ClientContext* context);
  void Unregister(grpc::ClientContext* context);
  // Sleeps for `d` unless paused or shut down first; false in that case.
  bool SleepFor(absl::Duration d);
  // True while streams may run.
  bool open() const;

  void Pause();
  void Resume();
  void Shutdown();

 private:
  mutable absl::Mutex mu_;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> active_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_STREAM_GATE_H_
