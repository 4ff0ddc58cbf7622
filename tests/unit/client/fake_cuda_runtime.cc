// The fake runtime: one global state under one mutex; each stream's thread
// takes its queue's front operation, runs it outside the lock (copies and
// kernels may sleep), and pops it when done, so Synchronize can wait for an
// empty queue.
#include "tests/unit/client/fake_cuda_runtime.h"

#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace inputserve::client_internal::cuda {
namespace {

struct Event {
  int device = 0;
  uint64_t recorded = 0;   // Records made.
  uint64_t completed = 0;  // Highest record its stream has passed.
};

struct Op {
  enum Kind { kCopy, kRecord, kWait, kKernel } kind = kCopy;
  Copy copy{nullptr, nullptr, 0};
  Event* event = nullptr;
  uint64_t generation = 0;
  uint64_t kernel = 0;  // Key in State::reading.
  const uint8_t* data = nullptr;
  size_t bytes = 0;
  absl::Duration duration;
  std::vector<uint8_t>* seen = nullptr;
};

struct Stream {
  int device = 0;
  std::deque<Op> ops;  // The front one is running.
  bool stop = false;
  std::thread worker;
};

struct Range {
  const uint8_t* begin;
  size_t bytes;
  bool Overlaps(const uint8_t* p, size_t n) const {
    return p < begin + bytes && begin < p + n;
  }
};

struct Failure {
  std::string name;
  int device;
};

struct State {
  absl::Mutex mu;
  int devices ABSL_GUARDED_BY(mu) = 0;
  std::vector<fake::Call> log ABSL_GUARDED_BY(mu);
  std::vector<Failure> failures ABSL_GUARDED_BY(mu);
  absl::Duration copy_delay ABSL_GUARDED_BY(mu);
  std::map<const uint8_t*, size_t> device_memory ABSL_GUARDED_BY(mu);
  int pinned ABSL_GUARDED_BY(mu) = 0;
  int streams ABSL_GUARDED_BY(mu) = 0;
  int events ABSL_GUARDED_BY(mu) = 0;
  uint64_t next_kernel ABSL_GUARDED_BY(mu) = 1;
  std::map<uint64_t, Range> reading ABSL_GUARDED_BY(mu);
  std::vector<std::string> hazards ABSL_GUARDED_BY(mu);
  uint64_t copied_bytes ABSL_GUARDED_BY(mu) = 0;
  std::vector<std::unique_ptr<Event>> destroyed_events ABSL_GUARDED_BY(mu);
};

State& S() {
  static State* state = new State();
  return *state;
}

// Logs the call; returns the injected error if one is due.
std::string Enter(const char* name, int device, const void* stream = nullptr,
                  const void* event = nullptr, size_t bytes = 0)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(S().mu) {
  State& s = S();
  s.log.push_back({name, device, stream, event, bytes});
  for (auto it = s.failures.begin(); it != s.failures.end(); ++it) {
    if (it->name == name && (it->device < 0 || it->device == device)) {
      s.failures.erase(it);
      return absl::StrCat(name,
                          ": cudaErrorInjected (injected by the fake runtime)");
    }
  }
  return "";
}

// Where a write of [p, p + n) lands badly, if anywhere.
void CheckWrite(const uint8_t* p, size_t n, const char* what)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(S().mu) {
  State& s = S();
  auto it = s.device_memory.upper_bound(p);
  const bool allocated = it != s.device_memory.begin() &&
                         p + n <= std::prev(it)->first + std::prev(it)->second;
  if (!allocated) {
    s.hazards.push_back(absl::StrCat(what, " of ", n,
                                     " bytes to memory that is not allocated"));
  }
  for (const auto& [kernel, range] : s.reading) {
    if (range.Overlaps(p, n)) {
      s.hazards.push_back(absl::StrCat(what, " of ", n,
                                       " bytes overwrote memory that kernel ",
                                       kernel, " had not finished reading"));
    }
  }
}

void RunOp(Op& op) {
  State& s = S();
  switch (op.kind) {
    case Op::kCopy: {
      absl::Duration delay;
      {
        absl::MutexLock lock(&s.mu);
        delay = s.copy_delay;
      }
      absl::SleepFor(delay);
      absl::MutexLock lock(&s.mu);
      CheckWrite(static_cast<const uint8_t*>(op.copy.dst), op.copy.bytes,
                 "cudaMemcpyAsync");
      std::memcpy(op.copy.dst, op.copy.src, op.copy.bytes);
      s.copied_bytes += op.copy.bytes;
      break;
    }
    case Op::kKernel: {
      {
        absl::MutexLock lock(&s.mu);
        s.reading[op.kernel] = Range{op.data, op.bytes};
      }
      absl::SleepFor(op.duration);
      absl::MutexLock lock(&s.mu);
      if (op.seen != nullptr) op.seen->assign(op.data, op.data + op.bytes);
      s.reading.erase(op.kernel);
      break;
    }
    case Op::kRecord: {
      absl::MutexLock lock(&s.mu);
      if (op.event->completed < op.generation) {
        op.event->completed = op.generation;
      }
      break;
    }
    case Op::kWait: {
      absl::MutexLock lock(&s.mu);
      Event* e = op.event;
      const uint64_t g = op.generation;
      auto done = [e, g]() { return e->completed >= g; };
      s.mu.Await(absl::Condition(&done));
      break;
    }
  }
}

void Work(Stream* stream) {
  State& s = S();
  while (true) {
    Op op;
    {
      absl::MutexLock lock(&s.mu);
      auto ready = [stream]() { return !stream->ops.empty() || stream->stop; };
      s.mu.Await(absl::Condition(&ready));
      if (stream->ops.empty()) return;  // Stopped and drained.
      op = stream->ops.front();
    }
    RunOp(op);
    absl::MutexLock lock(&s.mu);
    stream->ops.pop_front();
  }
}

void Enqueue(void* stream, Op op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(S().mu) {
  static_cast<Stream*>(stream)->ops.push_back(std::move(op));
}

void AwaitIdle(Stream* stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(S().mu) {
  auto idle = [stream]() { return stream->ops.empty(); };
  S().mu.Await(absl::Condition(&idle));
}

}  // namespace

bool CompiledIn() { return true; }

int DeviceCount() {
  absl::MutexLock lock(&S().mu);
  return S().devices;
}

std::string AllocPinned(size_t bytes, void** out) {
  absl::MutexLock lock(&S().mu);
  if (std::string err = Enter("cudaHostAlloc", -1, nullptr, nullptr, bytes);
      !err.empty()) {
    return err;
  }
  *out = std::malloc(bytes == 0 ? 1 : bytes);
  ++S().pinned;
  return "";
}

void FreePinned(void* ptr) {
  absl::MutexLock lock(&S().mu);
  Enter("cudaFreeHost", -1);
  std::free(ptr);
  --S().pinned;
}

std::string AllocDevice(int device, size_t bytes, void** out) {
  absl::MutexLock lock(&S().mu);
  if (std::string err = Enter("cudaMalloc", device, nullptr, nullptr, bytes);
      !err.empty()) {
    return err;
  }
  *out = std::malloc(bytes == 0 ? 1 : bytes);
  S().device_memory[static_cast<const uint8_t*>(*out)] = bytes;
  return "";
}

void FreeDevice(int device, void* ptr) {
  State& s = S();
  absl::MutexLock lock(&s.mu);
  Enter("cudaFree", device);
  const auto* p = static_cast<const uint8_t*>(ptr);
  auto it = s.device_memory.find(p);
  if (it == s.device_memory.end()) {
    s.hazards.push_back("cudaFree of a pointer that is not allocated");
    return;
  }
  for (const auto& [kernel, range] : s.reading) {
    if (range.Overlaps(p, it->second)) {
      s.hazards.push_back(absl::StrCat("cudaFree of memory that kernel ",
                                       kernel, " had not finished reading"));
    }
  }
  s.device_memory.erase(it);
  std::free(ptr);
}

std::string CreateStream(int device, void** stream) {
  absl::MutexLock lock(&S().mu);
  if (std::string err = Enter("cudaStreamCreateWithFlags", device);
      !err.empty()) {
    return err;
  }
  auto* st = new Stream();
  st->device = device;
  st->worker = std::thread([st] { Work(st); });
  ++S().streams;
  *stream = st;
  return "";
}

void DestroyStream(int device, void* stream) {
  auto* st = static_cast<Stream*>(stream);
  {
    absl::MutexLock lock(&S().mu);
    Enter("cudaStreamDestroy", device, stream);
    st->stop = true;
    --S().streams;
  }
  st->worker.join();  // Runs what was queued first, as CUDA does.
  delete st;
}

std::string CreateEvent(int device, void** event) {
  absl::MutexLock lock(&S().mu);
  if (std::string err = Enter("cudaEventCreateWithFlags", device);
      !err.empty()) {
    return err;
  }
  auto* e = new Event();
  e->device = device;
  ++S().events;
  *event = e;
  return "";
}

void DestroyEvent(int device, void* event) {
  absl::MutexLock lock(&S().mu);
  Enter("cudaEventDestroy", device, nullptr, event);
  --S().events;
  // As in CUDA, a stream may still wait on it (its last record completes):
  // the object stays, so the wait reads valid memory, but no longer counts.
  S().destroyed_events.push_back(
      std::unique_ptr<Event>(static_cast<Event*>(event)));
}

std::string RecordEvent(int device, void* event, void* stream) {
  absl::MutexLock lock(&S().mu);
  if (std::string err = Enter("cudaEventRecord", device, stream, event);
      !err.empty()) {
    return err;
  }
  Op op;
  op.kind = Op::kRecord;
  op.event = static_cast<Event*>(event);
  op.generation = ++op.event->recorded;
  Enqueue(stream, std::move(op));
  return "";
}

std::string StreamWaitEvent(int device, void* stream, void* event) {
  absl::MutexLock lock(&S().mu);
  if (std::string err = Enter("cudaStreamWaitEvent", device, stream, event);
      !err.empty()) {
    return err;
  }
  Op op;
  op.kind = Op::kWait;
  op.event = static_cast<Event*>(event);
  op.generation = op.event->recorded;  // Never recorded: already complete.
  Enqueue(stream, std::move(op));
  return "";
}

std::string EventSynchronize(int device, void* event) {
  absl::MutexLock lock(&S().mu);
  if (std::string err = Enter("cudaEventSynchronize", device, nullptr, event);
      !err.empty()) {
    return err;
  }
  Event* e = static_cast<Event*>(event);
  const uint64_t g = e->recorded;
  auto done = [e, g]() { return e->completed >= g; };
  S().mu.Await(absl::Condition(&done));
  return "";
}

std::string CopyAsync(int device, void* stream, const Copy* copies, size_t n) {
  absl::MutexLock lock(&S().mu);
  for (size_t i = 0; i < n; ++i) {
    if (std::string err =
            Enter("cudaMemcpyAsync", device, stream, nullptr, copies[i].bytes);
        !err.empty()) {
      return err;
    }
    Op op;
    op.kind = Op::kCopy;
    op.copy = copies[i];
    Enqueue(stream, std::move(op));
  }
  return "";
}

std::string Synchronize(int device, void* stream) {
  absl::MutexLock lock(&S().mu);
  if (std::string err = Enter("cudaStreamSynchronize", device, stream);
      !err.empty()) {
    return err;
  }
  AwaitIdle(static_cast<Stream*>(stream));
  return "";
}

namespace fake {

void Reset(int num_devices) {
  State& s = S();
  absl::MutexLock lock(&s.mu);
  s.devices = num_devices;
  s.log.clear();
  s.failures.clear();
  s.hazards.clear();
  s.copy_delay = absl::ZeroDuration();
  s.copied_bytes = 0;
}

std::vector<Call> Log() {
  absl::MutexLock lock(&S().mu);
  return S().log;
}

int Count(const std::string& name, int device) {
  absl::MutexLock lock(&S().mu);
  int n = 0;
  for (const Call& c : S().log) {
    if (c.name == name && (device < 0 || c.device == device)) ++n;
  }
  return n;
}

void FailNext(const std::string& name, int device) {
  absl::MutexLock lock(&S().mu);
  S().failures.push_back({name, device});
}

void SetCopyDelay(absl::Duration delay) {
  absl::MutexLock lock(&S().mu);
  S().copy_delay = delay;
}

void LaunchRead(int device, void* stream, const void* data, size_t bytes,
                absl::Duration duration, std::vector<uint8_t>* seen) {
  State& s = S();
  absl::MutexLock lock(&s.mu);
  Enter("kernel", device, stream, nullptr, bytes);
  Op op;
  op.kind = Op::kKernel;
  op.kernel = s.next_kernel++;
  op.data = static_cast<const uint8_t*>(data);
  op.bytes = bytes;
  op.duration = duration;
  op.seen = seen;
  Enqueue(stream, std::move(op));
}

std::vector<std::string> Hazards() {
  absl::MutexLock lock(&S().mu);
  return S().hazards;
}

LiveObjects Live() {
  State& s = S();
  absl::MutexLock lock(&s.mu);
  return {static_cast<int>(s.device_memory.size()), s.pinned, s.streams,
          s.events};
}

uint64_t CopiedBytes() {
  absl::MutexLock lock(&S().mu);
  return S().copied_bytes;
}

}  // namespace fake
}  // namespace inputserve::client_internal::cuda
