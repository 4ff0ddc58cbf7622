// Counters shared by the stream threads and the Client; lock-free so Next()
// and stats() never wait on a stream. Thread-safe (relaxed atomics: each
// counter is exact, but a stats() snapshot is not a single instant).
#ifndef INPUTSERVE_CLIENT_CLIENT_COUNTERS_H_
#define INPUTSERVE_CLIENT_CLIENT_COUNTERS_H_

#include <atomic>
#include <cstdint>

namespace inputserve::client_internal {

struct ClientCounters {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> batches_received{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> cache_hits{0};
  std::atomic<uint64_t> synthetic_uploads{0};
  std::atomic<uint64_t> reconnects{0};
  std::atomic<uint64_t> stream_errors{0};
  std::atomic<int64_t> wait_nanos{0};
  std::atomic<int64_t> first_batch_nanos{-1};
  // Sum of the ready-slot counts Next() found, and how many times it looked.
  std::atomic<uint64_t> ready_seen_sum{0};
  std::atomic<uint64_t> ready_seen_count{0};
  std::atomic<uint64_t> mode_generation{0};
  std::atomic<int> mode{0};  // BatchMode as int.

  void Add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_CLIENT_COUNTERS_H_
