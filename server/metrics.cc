#include "server/metrics.h"

#include <string>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

namespace inputserve {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Family<prometheus::Counter>& CounterFamily(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help) {
  return BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Gauge& SingleGauge(prometheus::Registry& registry,
                               const std::string& name,
                               const std::string& help) {
  return BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Counter& SingleCounter(prometheus::Registry& registry,
                                   const std::string& name,
                                   const std::string& help) {
  return CounterFamily(registry, name, help).Add({});
}

// 1 ms .. ~33 s in powers of two: a CIFAR batch builds in milliseconds, an
// ImageNet batch of 256 in about a second on two cores.
prometheus::Histogram::BucketBoundaries BuildBuckets() {
  prometheus::Histogram::BucketBoundaries bounds;
  for (double b = 0.001; b < 40; b *= 2) bounds.push_back(b);
  return bounds;
}

}  // namespace

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      batches_real_(CounterFamily(*registry_, "inputserve_batches_sent_total",
                                  "Batches completely written to streams.")
                        .Add({{"mode", "real"}})),
      batches_synthetic_(
          CounterFamily(*registry_, "inputserve_batches_sent_total", "")
              .Add({{"mode", "synthetic"}})),
      bytes_real_(CounterFamily(*registry_, "inputserve_bytes_sent_total",
                                "Batch payload bytes written to streams.")
                      .Add({{"mode", "real"}})),
      bytes_synthetic_(
          CounterFamily(*registry_, "inputserve_bytes_sent_total", "")
              .Add({{"mode", "synthetic"}})),
      active_streams_(SingleGauge(*registry_, "inputserve_active_streams",
                                  "StreamBatches calls in progress.")),
      mode_(SingleGauge(*registry_, "inputserve_mode",
                        "Serving mode: 1 = synthetic, 0 = real.")),
      mode_changes_(SingleCounter(*registry_, "inputserve_mode_changes_total",
                                  "Changes of the serving mode.")),
      examples_decoded_(
          SingleCounter(*registry_, "inputserve_examples_decoded_total",
                        "Examples decoded into batches by the pipeline.")),
      decode_errors_(SingleCounter(*registry_, "inputserve_decode_errors_total",
                                   "Examples whose decode failed (skipped).")),
      records_skipped_family_(
          CounterFamily(*registry_, "inputserve_records_skipped_total",
                        "Records skipped as unusable, by reason.")),
      batch_build_seconds_(
          BuildHistogram()
              .Name("inputserve_batch_build_seconds")
              .Help("Time to read, decode and assemble one batch.")
              .Register(*registry_)
              .Add({}, BuildBuckets())),
      prefetch_queue_depth_(
          SingleGauge(*registry_, "inputserve_prefetch_queue_depth",
                      "Batches built and waiting for a stream.")),
      stream_errors_family_(
          CounterFamily(*registry_, "inputserve_stream_errors_total",
                        "Streams that ended with an error, by reason.")),
      admin_requests_family_(
          CounterFamily(*registry_, "inputserve_admin_requests_total",
                        "Admin RPCs by method and status code.")),
      data_auth_failures_family_(CounterFamily(
          *registry_, "inputserve_data_auth_failures_total",
          "InputService calls refused for a missing or wrong data token "
          "(--data_token_file), by method.")),
      deterministic_streams_(
          SingleGauge(*registry_, "inputserve_deterministic_streams",
                      "StreamBatches calls in deterministic order.")),
      deterministic_batches_(SingleCounter(
          *registry_, "inputserve_deterministic_batches_built_total",
          "Batches built for deterministic-order streams.")) {
  for (size_t i = 0; i < kSkipReasons.size(); ++i) {
    records_skipped_[i] = &records_skipped_family_.Add(
        {{"reason", std::string(kSkipReasons[i])}});
  }
  // Export the common series at 0 from the start, so dashboards and alerts
  // see them (and rate() works) before the first event.
  for (const char* reason : {"batch_requeued", "drained", "resource_exhausted",
                             "invalid_argument", "pipeline_failed"}) {
    stream_errors(reason);
  }
  for (const char* rpc : {"GetDatasetInfo", "StreamBatches", "WatchMode"}) {
    data_auth_failures(rpc);
  }
  for (const char* rpc : {"SetMode", "GetStatus"}) {
    for (const char* code : {"OK", "UNAUTHENTICATED", "INVALID_ARGUMENT"}) {
      admin_requests(rpc, code);
    }
  }
}

prometheus::Counter& ServerMetrics::records_skipped(absl::string_view reason) {
  for (size_t i = 0; i < kSkipReasons.size(); ++i) {
    if (kSkipReasons[i] == reason) return *records_skipped_[i];
  }
  return *records_skipped_.back();  // "other"
}

prometheus::Counter& ServerMetrics::stream_errors(absl::string_view reason) {
  // Reasons are a small fixed set chosen by the server, never client input.
  return stream_errors_family_.Add({{"reason", std::string(reason)}});
}

prometheus::Counter& ServerMetrics::admin_requests(absl::string_view rpc,
                                                   absl::string_view code) {
  return admin_requests_family_.Add(
      {{"rpc", std::string(rpc)}, {"code", std::string(code)}});
}

prometheus::Counter& ServerMetrics::data_auth_failures(absl::string_view rpc) {
  return data_auth_failures_family_.Add({{"rpc", std::string(rpc)}});
}

void ServerMetrics::OnModeChange(ServingMode mode) {
  mode_.Set(mode == ServingMode::kSynthetic ? 1 : 0);
  mode_changes_.Increment();
}

}  // namespace inputserve
