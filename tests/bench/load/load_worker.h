// One load-test worker process: N Clients against one server, each driven
// by its own thread calling Next() as fast as it can for a fixed time, and a
// latency histogram of those calls. The driver (load_bench.cc) runs several
// of these and merges their report lines.
// LatencyHistogram is not thread-safe: one per thread, merged afterwards.
#ifndef INPUTSERVE_TESTS_BENCH_LOAD_LOAD_WORKER_H_
#define INPUTSERVE_TESTS_BENCH_LOAD_LOAD_WORKER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace inputserve::bench {

// Log-spaced buckets, 2% wide: percentiles to within 2% at any scale.
class LatencyHistogram {
 public:
  void Add(absl::Duration latency);
  void Merge(const LatencyHistogram& other);
  // Upper edge of the bucket holding the q-quantile, in microseconds.
  double PercentileMicros(double q) const;
  uint64_t count() const { return count_; }
  // "bucket:count,..." and back, for worker -> driver lines.
  std::string Encode() const;
  static absl::StatusOr<LatencyHistogram> Decode(const std::string& text);

 private:
  std::map<int, uint64_t> buckets_;
  uint64_t count_ = 0;
};

struct WorkerOptions {
  std::string target;
  int clients = 16;
  int connections_per_client = 1;
  absl::Duration duration = absl::Seconds(60);
  bool cache_synthetic = false;  // false: synthetic batches cross the wire.
};

struct WorkerReport {
  uint64_t batches = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;  // Failed Next(), stream errors, reconnects, Create.
  double seconds = 0;   // Measured time (after every client's first batch).
  LatencyHistogram latency;
  std::string first_error;

  // One line: "WORKER batches=.. bytes=.. errors=.. seconds=.. hist=..".
  std::string Encode() const;
  static absl::StatusOr<WorkerReport> Decode(const std::string& line);
};

WorkerReport RunWorker(const WorkerOptions& options);

}  // namespace inputserve::bench

#endif  // INPUTSERVE_TESTS_BENCH_LOAD_LOAD_WORKER_H_
