#include "client/transport/mode_watcher.h"

#include <utility>

#include "absl/time/clock.h"
#include "client/transport/backoff.h"
#include "grpcpp/completion_queue.h"
#include "inputserve/v1/input_service.grpc.pb.h"

namespace inputserve::client_internal {
namespace {

// Distinct tags only for sanity checks: one operation is in flight at a time.
void* const kStartTag = reinterpret_cast<void*>(1);
void* const kReadTag = reinterpret_cast<void*>(2);
void* const kFinishTag = reinterpret_cast<void*>(3);

}  // namespace

// The watcher's completion queue, polled without blocking: the thread waits
// outside gRPC between polls, so it never holds gRPC's poller role.
class ModeWatcher::Queue {
 public:
  ~Queue() {
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  grpc::CompletionQueue* calls() { return &cq_; }

  // Waits for `expected`, the one operation in flight; its `ok`.
  bool Await(void* expected) {
    while (true) {
      void* tag = nullptr;
      bool ok = false;
      // A deadline already passed: one poll that does not block. It also
      // runs socket work that is due when no data stream is polling.
      switch (cq_.AsyncNext(&tag, &ok, std::chrono::system_clock::now())) {
        case grpc::CompletionQueue::GOT_EVENT:
          return ok && tag == expected;
        case grpc::CompletionQueue::SHUTDOWN:
          return false;
        case grpc::CompletionQueue::TIMEOUT:
          absl::SleepFor(kIdlePollInterval);
          break;
      }
    }
  }

 private:
  grpc::CompletionQueue cq_;
};

ModeWatcher::ModeWatcher(int target_index,
                         std::shared_ptr<grpc::Channel> channel,
                         absl::Duration initial_backoff,
                         absl::Duration max_backoff, Callback callback)
    : target_index_(target_index),
      channel_(std::move(channel)),
      initial_backoff_(initial_backoff),
      max_backoff_(max_backoff),
      callback_(std::move(callback)),
      thread_([this] { Run(); }) {}

ModeWatcher::~ModeWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  thread_.join();
}

void ModeWatcher::Run() {
  auto stub = v1::InputService::NewStub(channel_);
  Backoff backoff(initial_backoff_, max_backoff_);
  Queue queue;
  uint64_t connection = 0;
  while (true) {
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      active_ = &context;
    }
    ++connection;
    if (WatchOnce(queue, *stub, &context, connection)) backoff.Reset();
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
    auto stopped = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped), backoff.Next())) {
      return;
    }
  }
}

bool ModeWatcher::WatchOnce(Queue& queue, v1::InputService::Stub& stub,
                            grpc::ClientContext* context, uint64_t connection) {
  std::unique_ptr<grpc::ClientAsyncReader<v1::ModeStatus>> reader =
      stub.PrepareAsyncWatchMode(context, v1::WatchModeRequest(),
                                 queue.calls());
  reader->StartCall(kStartTag);
  bool got_any = false;
  if (queue.Await(kStartTag)) {
    v1::ModeStatus status;
    while (true) {
      reader->Read(&status, kReadTag);
      if (!queue.Await(kReadTag)) break;
      got_any = true;
      callback_(target_index_, status, connection);
    }
  }
  grpc::Status finished;
  reader->Finish(&finished, kFinishTag);
  queue.Await(kFinishTag);
  return got_any;
}

}  // namespace inputserve::client_internal
