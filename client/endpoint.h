// Endpoint: what the client runs against one server address: its data
// streams (each on a dedicated channel), the mode watcher on the control
// channel, and a StreamGate that opens and closes just these streams. The
// client makes one per listed target and one per address of a dns name, and
// destroys it when the address leaves DNS or the client goes away.
// Thread-safe: Pause/Resume/Shutdown from any thread; the destructor shuts
// down and joins every thread, so it may wait for a stream blocked on a
// free batch slot (unblocked by Next() or BatchQueue::SetAccepting(false)).
#ifndef INPUTSERVE_CLIENT_ENDPOINT_H_
#define INPUTSERVE_CLIENT_ENDPOINT_H_

#include <memory>
#include <string>
#include <vector>

#include "client/transport/batch_stream.h"
#include "client/transport/dns_targets.h"
#include "client/transport/mode_watcher.h"
#include "client/transport/stream_gate.h"
#include "grpcpp/channel.h"

namespace inputserve::client_internal {

struct EndpointParams {
  int index = 0;  // Slot::source, TargetHealth and mode index; never reused.
  EndpointSpec spec;
  std::string consumer_id;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  bool start_paused = false;  // The client is serving its synthetic cache.
};

class Endpoint {
 public:
  // One data stream per channel in `data`. `shared.gate` is ignored: the
  // streams use this endpoint's own gate.
  Endpoint(EndpointParams params, std::shared_ptr<grpc::Channel> control,
           const std::vector<std::shared_ptr<grpc::Channel>>& data,
           BatchStreamShared shared, ModeWatcher::Callback on_mode);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  int index() const { return params_.index; }
  const EndpointSpec& spec() const { return params_.spec; }

  // As StreamGate: Pause() returns once none of these streams is open.
  void Pause() { gate_.Pause(); }
  void Resume() { gate_.Resume(); }
  // Cancels the calls in flight; the destructor then joins quickly.
  void Shutdown() { gate_.Shutdown(); }

 private:
  const EndpointParams params_;
  StreamGate gate_;
  // Destroyed before the gate (declared after it).
  std::unique_ptr<ModeWatcher> watcher_;
  std::vector<std::unique_ptr<BatchStream>> streams_;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_ENDPOINT_H_
