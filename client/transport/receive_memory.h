// Keeps the memory gRPC receives into resident between batches: glibc's
// malloc returns freed memory at the top of a heap to the kernel once it
// exceeds M_TRIM_THRESHOLD (128 KiB by default), so every batch's receive
// buffers were mapped and page-faulted in afresh. Called once per process
// when the first data channel is made; idempotent and thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_RECEIVE_MEMORY_H_
#define INPUTSERVE_CLIENT_TRANSPORT_RECEIVE_MEMORY_H_

#include <cstddef>

namespace inputserve::client_internal {

// The trim threshold set: a little more than the receive buffering of a few
// data streams (16 MiB flow-control window each).
inline constexpr size_t kReceiveTrimThreshold = size_t{128} << 20;

// Raises glibc's trim threshold to kReceiveTrimThreshold, unless the process
// already chose malloc settings of its own (MALLOC_TRIM_THRESHOLD_,
// MALLOC_TOP_PAD_ or a glibc.malloc tunable in the environment). Returns true
// when this call (or an earlier one) applied the setting. No-op elsewhere
// than glibc.
bool KeepReceiveMemoryResident();

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_RECEIVE_MEMORY_H_
