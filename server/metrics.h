// ServerMetrics: the one owner of every Prometheus metric the server exports.
// Families are built once in the constructor; hot paths use the cached
// Counter/Gauge/Histogram references and never call Family::Add.
//
// This class is thread-safe (prometheus-cpp metrics are atomic).
#ifndef INPUTSERVE_SERVER_METRICS_H_
#define INPUTSERVE_SERVER_METRICS_H_

#include <array>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/mode_controller.h"

namespace inputserve {

class ServerMetrics {
 public:
  // Reasons a record can be skipped; anything else is counted as "other".
  static constexpr std::array<absl::string_view, 9> kSkipReasons = {
      "bad_crc",      "truncated", "missing_feature", "bad_label", "bad_size",
      "decode_error", "bad_name",  "unreadable",      "other"};

  ServerMetrics();

  const std::shared_ptr<prometheus::Registry>& registry() const {
    return registry_;
  }

  prometheus::Counter& batches_sent(ServingMode mode) {
    return mode == ServingMode::kSynthetic ? batches_synthetic_ : batches_real_;
  }
  prometheus::Counter& bytes_sent(ServingMode mode) {
    return mode == ServingMode::kSynthetic ? bytes_synthetic_ : bytes_real_;
  }
  prometheus::Gauge& active_streams() { return active_streams_; }
  prometheus::Gauge& mode() { return mode_; }
  prometheus::Counter& mode_changes() { return mode_changes_; }
  prometheus::Counter& examples_decoded() { return examples_decoded_; }
  prometheus::Counter& decode_errors() { return decode_errors_; }
  prometheus::Counter& records_skipped(absl::string_view reason);
  prometheus::Histogram& batch_build_seconds() { return batch_build_seconds_; }
  prometheus::Gauge& prefetch_queue_depth() { return prefetch_queue_depth_; }
  // Streams that ended abnormally, by reason: "batch_requeued" (the stream
  // broke mid-batch; the batch went back to the queue), "drained",
  // "resource_exhausted", "invalid_argument", "pipeline_failed".
  prometheus::Counter& stream_errors(absl::string_view reason);
  // InputService calls refused for a missing or wrong data token, by method.
  prometheus::Counter& data_auth_failures(absl::string_view rpc);
  // Admin RPCs by method and gRPC status code name. Not on a hot path.
  prometheus::Counter& admin_requests(absl::string_view rpc,
                                      absl::string_view code);

  // Deterministic-order streams open now, and the batches built for them.
  prometheus::Gauge& deterministic_streams() { return deterministic_streams_; }
  prometheus::Counter& deterministic_batches() {
    return deterministic_batches_;
  }

  // Records a change of mode: the mode gauge and the change counter.
  void OnModeChange(ServingMode mode);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter& batches_real_;
  prometheus::Counter& batches_synthetic_;
  prometheus::Counter& bytes_real_;
  prometheus::Counter& bytes_synthetic_;
  prometheus::Gauge& active_streams_;
  prometheus::Gauge& mode_;
  prometheus::Counter& mode_changes_;
  prometheus::Counter& examples_decoded_;
  prometheus::Counter& decode_errors_;
  prometheus::Family<prometheus::Counter>& records_skipped_family_;
  std::array<prometheus::Counter*, kSkipReasons.size()> records_skipped_;
  prometheus::Histogram& batch_build_seconds_;
  prometheus::Gauge& prefetch_queue_depth_;
  prometheus::Family<prometheus::Counter>& stream_errors_family_;
  prometheus::Family<prometheus::Counter>& admin_requests_family_;
  prometheus::Family<prometheus::Counter>& data_auth_failures_family_;
  prometheus::Gauge& deterministic_streams_;
  prometheus::Counter& deterministic_batches_;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_METRICS_H_
