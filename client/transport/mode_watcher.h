// ModeWatcher: one background thread per target holding a WatchMode call
// open (the server pushes the current ModeStatus at once, then one on every
// change) and reporting each status to a callback. Reconnects with backoff.
// The callback runs on the watcher's thread. Thread-safe; the destructor
// cancels the call and joins.
// The watcher's thread never waits inside gRPC's poller: a second polling
// thread beside a data stream's takes over reading the data socket and hands
// every chunk across threads (hundreds of context switches per batch). It
// polls without blocking every kIdlePollInterval and sleeps in between.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_MODE_WATCHER_H_
#define INPUTSERVE_CLIENT_TRANSPORT_MODE_WATCHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "inputserve/v1/common.pb.h"
#include "inputserve/v1/input_service.grpc.pb.h"

namespace inputserve::client_internal {

class ModeWatcher {
 public:
  // `connection` counts the calls this watcher made (1 for the first); a new
  // value means the server may have restarted.
  using Callback = std::function<void(int target, const v1::ModeStatus& status,
                                      uint64_t connection)>;

  ModeWatcher(int target_index, std::shared_ptr<grpc::Channel> channel,
              absl::Duration initial_backoff, absl::Duration max_backoff,
              Callback callback);
  ~ModeWatcher();
  ModeWatcher(const ModeWatcher&) = delete;
  ModeWatcher& operator=(const ModeWatcher&) = delete;

  // Longest delay this adds to a mode change or to the destructor.
  static constexpr absl::Duration kIdlePollInterval = absl::Milliseconds(20);

 private:
  class Queue;
  void Run();
  // One WatchMode call, from start to end; true if it delivered a status.
  bool WatchOnce(Queue& queue, v1::InputService::Stub& stub,
                 grpc::ClientContext* context, uint64_t connection);

  const int target_index_;
  const std::shared_ptr<grpc::Channel> channel_;
  const absl::Duration initial_backoff_;
  const absl::Duration max_backoff_;
  const Callback callback_;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_MODE_WATCHER_H_
