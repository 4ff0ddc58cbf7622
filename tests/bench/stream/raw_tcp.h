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

struct RawTcpRun {
  double seconds = 0;      // Wall time of the timed batches (receiver side).
  double cpu_seconds = 0;  // Process CPU time over the same span.
  uint64_t batches = 0;
};

// Sends warmup + batches payloads (cycling through `pool`, each
// `payload_bytes` long) and times the last `batches` at the receiver.
absl::StatusOr<RawTcpRun> RunRawTcp(const std::vector<const uint8_t*>& pool,
                                    size_t payload_bytes, int warmup,
                                    int batches);

}  // namespace inputserve::bench

#endif  // INPUTSERVE_TESTS_BENCH_STREAM_RAW_TCP_H_
