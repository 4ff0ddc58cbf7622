// The raw TCP baseline: the same batch bytes over one plain loopback TCP
// connection between two threads of this process, written with one large
// write() per batch and read straight into a rotating set of destination
// buffers (as the client reads into its prefetch slots). No framing, no
// protocol: the limit of the loopback path for this payload size.
// Thread-compatible: one run at a time per caller.
#ifndef INPUTSERVE_TESTS_BENCH_STREAM_RAW_TCP_H_
#define INPUTSERVE_TESTS_BENCH_STREAM_RAW_TCP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace inputserve::bench {

// getrusage(RUSAGE_THREAD) of one thread over the timed batches.
struct ThreadUsage {
  double user_seconds = 0;
  double system_seconds = 0;
  int64_t minor_faults = 0;
  int64_t major_faults = 0;
  int64_t voluntary_switches = 0;
  int64_t involuntary_switches = 0;
};

struct RawTcpRun {
  double seconds = 0;      // Wall time of the timed batches (receiver side).
  double cpu_seconds = 0;  // Process CPU time over the same span.
  uint64_t batches = 0;
  ThreadUsage receiver;  // The reading thread (the caller).
  ThreadUsage sender;    // The writing thread, from its warmup on.
};

// CPUs to pin the two ends to (sched_setaffinity); -1 leaves a thread where
// the scheduler puts it. The caller's own affinity is restored afterwards.
struct RawTcpPins {
  int sender_cpu = -1;
  int receiver_cpu = -1;
};

// Sends warmup + batches payloads (cycling through `pool`, each
// `payload_bytes` long) and times the last `batches` at the receiver.
absl::StatusOr<RawTcpRun> RunRawTcp(const std::vector<const uint8_t*>& pool,
                                    size_t payload_bytes, int warmup,
                                    int batches, RawTcpPins pins = {});

// Pins the calling thread to `cpu` (no-op for -1).
absl::Status PinThisThread(int cpu);

}  // namespace inputserve::bench

#endif  // INPUTSERVE_TESTS_BENCH_STREAM_RAW_TCP_H_
