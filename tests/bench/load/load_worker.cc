#include "tests/bench/load/load_worker.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/barrier.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "inputserve/client.h"

namespace inputserve::bench {
namespace {

constexpr double kBucketRatio = 1.02;

double BucketUpperMicros(int bucket) {
  return std::pow(kBucketRatio, bucket + 1);
}

}  // namespace

void LatencyHistogram::Add(absl::Duration latency) {
  const double us = std::max(1.0, absl::ToDoubleMicroseconds(latency));
  ++buckets_[static_cast<int>(
      std::floor(std::log(us) / std::log(kBucketRatio)))];
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (const auto& [b, n] : other.buckets_) buckets_[b] += n;
  count_ += other.count_;
}

double LatencyHistogram::PercentileMicros(double q) const {
  if (count_ == 0) return 0;
  const uint64_t rank = static_cast<uint64_t>(std::ceil(q * count_));
  uint64_t seen = 0;
  for (const auto& [b, n] : buckets_) {
    seen += n;
    if (seen >= rank) return BucketUpperMicros(b);
  }
  return BucketUpperMicros(buckets_.rbegin()->first);
}

std::string LatencyHistogram::Encode() const {
  std::string out;
  for (const auto& [b, n] : buckets_) {
    absl::StrAppend(&out, out.empty() ? "" : ",", b, ":", n);
  }
  return out.empty() ? "-" : out;
}

absl::StatusOr<LatencyHistogram> LatencyHistogram::Decode(
    const std::string& text) {
  LatencyHistogram h;
  if (text == "-") return h;
  for (absl::string_view pair : absl::StrSplit(text, ',')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(pair, ':');
    int b;
    uint64_t n;
    if (!absl::SimpleAtoi(kv.first, &b) || !absl::SimpleAtoi(kv.second, &n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad bucket '", pair, "'"));
    }
    h.buckets_[b] += n;
    h.count_ += n;
  }
  return h;
}

std::string WorkerReport::Encode() const {
  return absl::StrCat("WORKER batches=", batches, " bytes=", bytes,
                      " errors=", errors, " seconds=", seconds,
                      " hist=", latency.Encode());
}

absl::StatusOr<WorkerReport> WorkerReport::Decode(const std::string& line) {
  WorkerReport r;
  int found = 0;
  for (absl::string_view field : absl::StrSplit(line, ' ')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(field, '=');
    bool ok = true;
    if (kv.first == "batches") {
      ok = absl::SimpleAtoi(kv.second, &r.batches);
    } else if (kv.first == "bytes") {
      ok = absl::SimpleAtoi(kv.second, &r.bytes);
    } else if (kv.first == "errors") {
      ok = absl::SimpleAtoi(kv.second, &r.errors);
    } else if (kv.first == "seconds") {
      ok = absl::SimpleAtod(kv.second, &r.seconds);
    } else if (kv.first == "hist") {
      INPUTSERVE_ASSIGN_OR_RETURN(LatencyHistogram h,
                                  LatencyHistogram::Decode(kv.second));
      r.latency = std::move(h);
    } else {
      continue;
    }
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("bad ", field));
    ++found;
  }
  if (found != 5) {
    return absl::InvalidArgumentError(absl::StrCat("not a report: ", line));
  }
  return r;
}

WorkerReport RunWorker(const WorkerOptions& options) {
  struct PerClient {
    std::unique_ptr<Client> client;
    LatencyHistogram latency;
    uint64_t batches = 0, errors = 0, bytes_at_start = 0, bytes_at_end = 0;
    std::string error;
  };
  std::vector<PerClient> per(options.clients);
  absl::Barrier* ready = new absl::Barrier(options.clients + 1);
  absl::Time start, end;
  std::vector<std::thread> threads;
  for (int i = 0; i < options.clients; ++i) {
    threads.emplace_back([&, i] {
      PerClient& me = per[i];
      ClientOptions o;
      o.targets = {options.target};
      o.device_kind = DeviceKind::kHost;
      o.connections_per_target = options.connections_per_client;
      o.consumer_id = absl::StrCat("load-", i);
      o.cache_synthetic = options.cache_synthetic;
      o.unavailable_timeout = absl::Seconds(30);
      absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(o);
      if (client.ok()) {
        me.client = *std::move(client);
        // The first batch (connect, first fill) is not part of the figures.
        absl::StatusOr<const Batch*> first = me.client->Next();
        if (!first.ok()) {
          ++me.errors;
          me.error = first.status().ToString();
        }
        me.bytes_at_start = me.client->stats().bytes_received;
      } else {
        ++me.errors;
        me.error = client.status().ToString();
      }
      if (ready->Block()) delete ready;
      if (me.client == nullptr || me.errors > 0) return;
      const absl::Time deadline = start + options.duration;
      while (absl::Now() < deadline) {
        const absl::Time t0 = absl::Now();
        absl::StatusOr<const Batch*> batch = me.client->Next();
        if (!batch.ok()) {
          ++me.errors;
          if (me.error.empty()) me.error = batch.status().ToString();
          continue;
        }
        me.latency.Add(absl::Now() - t0);
        ++me.batches;
      }
      const ClientStats stats = me.client->stats();
      me.bytes_at_end = stats.bytes_received;
      me.errors += stats.stream_errors + stats.reconnects;
    });
  }
  // Every client has its first batch: the measured interval starts now.
  start = absl::Now();
  if (ready->Block()) delete ready;
  for (std::thread& t : threads) t.join();
  end = absl::Now();
  WorkerReport report;
  report.seconds = absl::ToDoubleSeconds(end - start);
  for (PerClient& me : per) {
    report.batches += me.batches;
    if (me.bytes_at_end > me.bytes_at_start) {
      report.bytes += me.bytes_at_end - me.bytes_at_start;
    }
    report.errors += me.errors;
    report.latency.Merge(me.latency);
    if (report.first_error.empty()) report.first_error = me.error;
  }
  return report;
}

}  // namespace inputserve::bench
