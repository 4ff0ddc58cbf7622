// A recording fake of client/device/cuda_runtime.h, linked into tests in
// place of the real runtime: "device" memory is host memory, each stream is
// a queue run in order by its own thread, events complete when their stream
// reaches them, and every call goes into a log. Tests make a stream slow
// with LaunchRead (a "kernel" that reads device memory for a while), inject
// errors per call and device, and read back hazards (a write to memory that
// a running kernel reads, or to memory not allocated) and the objects still
// alive. Thread-safe.
#ifndef INPUTSERVE_TESTS_UNIT_CLIENT_FAKE_CUDA_RUNTIME_H_
#define INPUTSERVE_TESTS_UNIT_CLIENT_FAKE_CUDA_RUNTIME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/device/cuda_runtime.h"

namespace inputserve::client_internal::cuda::fake {

struct Call {
  std::string name;  // The CUDA function, e.g. "cudaMemcpyAsync".
  int device = -1;
  const void* stream = nullptr;
  const void* event = nullptr;
  size_t bytes = 0;  // Copies and allocations.
};

struct LiveObjects {
  int device_buffers = 0;
  int pinned_buffers = 0;
  int streams = 0;
  int events = 0;
  bool operator==(const LiveObjects& o) const {
    return device_buffers == o.device_buffers &&
           pinned_buffers == o.pinned_buffers && streams == o.streams &&
           events == o.events;
  }
};

// Starts afresh with `num_devices` visible GPUs: clears the log, hazards,
// injected failures and delays. Objects still alive stay counted.
void Reset(int num_devices);

std::vector<Call> Log();
// Calls named `name` so far (on `device`, or any device for -1).
int Count(const std::string& name, int device = -1);

// The next call named `name` on `device` (-1: any) fails with an injected
// error; void calls (frees, destroys) cannot fail.
void FailNext(const std::string& name, int device = -1);
// Each host-to-device copy takes this long when its stream runs it.
void SetCopyDelay(absl::Duration delay);

// Queues on `stream` a kernel that reads [data, data + bytes) for
// `duration` and then stores what it read in *seen (if not null; keep it
// alive until the stream has run it). A write to the range while the kernel
// runs is a hazard; one before it starts shows in *seen.
void LaunchRead(int device, void* stream, const void* data, size_t bytes,
                absl::Duration duration, std::vector<uint8_t>* seen);

// One line per write (or free) that hit memory a running kernel was
// reading, or memory that is not a live allocation.
std::vector<std::string> Hazards();

LiveObjects Live();

// Host-to-device bytes the streams have copied.
uint64_t CopiedBytes();

}  // namespace inputserve::client_internal::cuda::fake

#endif  // INPUTSERVE_TESTS_UNIT_CLIENT_FAKE_CUDA_RUNTIME_H_
