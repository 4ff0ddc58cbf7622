// inputserve-bench-stream: how close inputserve's batch stream comes to the
// wire it runs on. For batch payloads of 64 KiB, 1 MiB, 8 MiB and 38.5 MB
// (ImageNet, 256 x 224x224x3 uint8 + 256 int32 labels) it measures, side by
// side in one run:
//
//   raw    the same bytes over one plain loopback TCP connection between two
//          threads, one write() per batch, read straight into rotating
//          destination buffers: the limit of this path (raw_tcp.h);
//   real   inputserve REAL mode: the client library (Client::Next) against
//          the real server data plane in this process (InputServiceImpl,
//          zero-copy EncodeBatch, gRPC callback server) fed from a pool of
//          payloads built before timing starts (pool_server.h);
//   synth  SYNTHETIC mode with ClientOptions::cache_synthetic = false: the
//          server streams its one cached, pre-encoded batch to the client.
//
// Why the pool and not --dataset=synthetic in real mode: the synthetic source
// fills every batch with fresh random bytes, which at 38.5 MB a batch costs
// a core about as much as the transport does, on a 2-core machine. That is
// source work, not transport. The pool makes the server's per-batch work
// exactly what the transport does (encode slices over an existing buffer,
// send), and the buffers are distinct, touched, non-zero memory, so the
// kernel copies real data. Server and client share this process as raw's two
// threads do; all three paths compete for the same cores.
//
// It also measures the synthetic-mode cost after the client caches: ns per
// Next() and wire bytes per step (client bytes_received and the server's
// inputserve_bytes_sent_total, before and after N calls; must be 0).
//
// Each case runs --runs times in interleaved order (raw, real, synth, raw,
// ...) and the table shows medians. The last line is
//   RESULT stream_ratio_1MiB=<x> stream_ratio_38MB=<x> synthetic_next_ns=<x>
//          synthetic_bytes_per_step=<x>
// where stream_ratio is REAL-mode GB/s over raw TCP GB/s. Exit status 1 when
// a received batch is wrong or synthetic steps move bytes; never for speed.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "inputserve/client.h"
#include "tests/bench/stream/pool_server.h"
#include "tests/bench/stream/raw_tcp.h"

ABSL_FLAG(std::string, sizes, "64KiB,1MiB,8MiB,38.5MB",
          "Batch payloads to measure (any of 64KiB,1MiB,8MiB,38.5MB).");
ABSL_FLAG(std::string, paths, "raw,real,synth", "Paths to measure.");
ABSL_FLAG(int64_t, bytes_per_case, int64_t{1} << 30,
          "Payload bytes timed per case (at least --min_batches batches).");
ABSL_FLAG(int, min_batches, 8, "Fewest timed batches per case.");
ABSL_FLAG(int, warmup, 3, "Untimed batches before each timed span.");
ABSL_FLAG(int, runs, 3, "Repetitions of every case; the table shows medians.");
ABSL_FLAG(int64_t, chunk_bytes, 1 << 20, "Server --chunk_bytes.");
ABSL_FLAG(int, connections, 1, "ClientOptions::connections_per_target.");
ABSL_FLAG(int, prefetch, 2, "ClientOptions::prefetch_batches.");
ABSL_FLAG(int64_t, next_calls, 10000000,
          "Cached synthetic Next() calls to time.");
ABSL_FLAG(std::string, server_args, "",
          "Extra gRPC server channel args for tuning runs: name=int,...");

namespace inputserve::bench {
namespace {

struct SizeCase {
  const char* name;
  int batch_size;
  int height;
  int width;
};

// batch * (H*W*3 + 4) = exactly 64 KiB, 1 MiB, 8 MiB; then ImageNet.
constexpr SizeCase kSizes[] = {
    {"64KiB", 16, 31, 44},
    {"1MiB", 64, 60, 91},
    {"8MiB", 128, 127, 172},
    {"38.5MB", 256, 224, 224},
};

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct Measure {
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t batches = 0;
  size_t payload = 0;
  double gbps() const { return batches * payload / seconds / 1e9; }
  double batches_per_s() const { return batches / seconds; }
  // CPU (all threads of the process) per payload byte.
  double cpu_ns_per_kib() const {
    return cpu_seconds * 1e9 / (batches * payload / 1024.0);
  }
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

absl::StatusOr<std::vector<std::pair<std::string, int>>> ParseArgs(
    const std::string& text) {
  std::vector<std::pair<std::string, int>> out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(item, '=');
    int value;
    if (kv.size() != 2 || !absl::SimpleAtoi(kv[1], &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--server_args: '", item, "' is not name=int"));
    }
    out.emplace_back(kv[0], value);
  }
  return out;
}

ClientOptions BenchClientOptions(const std::string& target, bool cache) {
  ClientOptions o;
  o.targets = {target};
  o.device_kind = DeviceKind::kHost;
  o.prefetch_batches = absl::GetFlag(FLAGS_prefetch);
  o.connections_per_target = absl::GetFlag(FLAGS_connections);
  o.cache_synthetic = cache;
  o.consumer_id = "bench-stream";
  o.unavailable_timeout = absl::Seconds(60);
  return o;
}

// Checks a received batch against the payload the server sent for it (the
// first and last 4 KiB of the image and all labels: enough to catch
// misplaced or stale chunks, cheap enough not to disturb the timing).
absl::Status CheckBatch(const Batch& batch, const PoolServer& server,
                        ServingMode mode) {
  const PayloadBuffer& sent = mode == ServingMode::kSynthetic
                                  ? server.synthetic_payload()
                                  : server.payload_for(batch.sequence);
  const TensorView* image = batch.devices[0].Find("image");
  const TensorView* label = batch.devices[0].Find("label");
  if (image == nullptr || label == nullptr ||
      image->num_bytes + label->num_bytes != sent.size()) {
    return absl::DataLossError("batch tensors do not match the server's");
  }
  const uint8_t* got = static_cast<const uint8_t*>(image->data);
  const uint8_t* want = sent.data();
  const size_t n = image->num_bytes;
  const size_t k = std::min<size_t>(4096, n);
  if (std::memcmp(got, want, k) != 0 ||
      std::memcmp(got + n - k, want + n - k, k) != 0 ||
      std::memcmp(label->data, want + n, label->num_bytes) != 0) {
    return absl::DataLossError(absl::StrCat(
        "batch ", batch.sequence, " differs from what the server sent"));
  }
  return absl::OkStatus();
}

// Streams warmup + timed batches through a fresh Client.
absl::StatusOr<Measure> RunClient(PoolServer& server, ServingMode mode,
                                  int warmup, int batches, ClientStats* stats) {
  server.SetMode(mode);
  INPUTSERVE_ASSIGN_OR_RETURN(
      std::unique_ptr<Client> client,
      Client::Create(BenchClientOptions(server.target(), /*cache=*/false)));
  Measure m;
  m.payload = server.payload_bytes();
  absl::Time start;
  double cpu_start = 0;
  for (int i = 0; i < warmup + batches; ++i) {
    INPUTSERVE_ASSIGN_OR_RETURN(const Batch* batch, client->Next());
    if (i == 0 || i == warmup + batches - 1) {
      INPUTSERVE_RETURN_IF_ERROR(CheckBatch(*batch, server, mode));
    }
    if (i == warmup - 1) {
      start = absl::Now();
      cpu_start = CpuSeconds();
    }
  }
  m.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  m.cpu_seconds = CpuSeconds() - cpu_start;
  m.batches = static_cast<uint64_t>(batches);
  *stats = client->stats();
  return m;
}

struct SyntheticNext {
  double ns_per_call = 0;
  double client_bytes_per_step = 0;
  double server_bytes_per_step = 0;
};

absl::StatusOr<SyntheticNext> RunSyntheticNext(PoolServer& server,
                                               int64_t calls) {
  server.SetMode(ServingMode::kSynthetic);
  INPUTSERVE_ASSIGN_OR_RETURN(
      std::unique_ptr<Client> client,
      Client::Create(BenchClientOptions(server.target(), /*cache=*/true)));
  INPUTSERVE_ASSIGN_OR_RETURN(const Batch* first, client->Next());
  if (!first->from_cache) {
    return absl::InternalError("synthetic batch was not cached");
  }
  // The client closed its data stream on caching; let the server see it.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (server.active_streams() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  const uint64_t client_before = client->stats().bytes_received;
  const double server_before = server.bytes_sent();
  const absl::Time start = absl::Now();
  for (int64_t i = 0; i < calls; ++i) {
    absl::StatusOr<const Batch*> batch = client->Next();
    if (!batch.ok() || !(*batch)->from_cache) {
      return absl::InternalError("cached Next() left the cache");
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  SyntheticNext out;
  out.ns_per_call = seconds * 1e9 / calls;
  out.client_bytes_per_step =
      static_cast<double>(client->stats().bytes_received - client_before) /
      calls;
  out.server_bytes_per_step = (server.bytes_sent() - server_before) / calls;
  return out;
}

const SizeCase* FindSize(const std::string& name) {
  for (const SizeCase& c : kSizes) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

// `status` with "<what>: " and its code name in front, for the error line.
absl::Status Annotate(const std::string& what, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(what, ": ", status.ToString()));
}

// Flags read once (nothing below Main reads a flag).
struct BenchFlags {
  std::vector<std::string> sizes;
  std::vector<std::string> paths;
  std::vector<std::pair<std::string, int>> server_args;
  int runs = 1;
  int warmup = 1;
  int64_t bytes_per_case = 0;
  int min_batches = 0;
  size_t chunk_bytes = 0;
  int64_t next_calls = 0;

  bool wants(const std::string& path) const {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
  }
};

absl::StatusOr<BenchFlags> ReadFlags() {
  BenchFlags f;
  f.sizes = absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',', absl::SkipEmpty());
  f.paths = absl::StrSplit(absl::GetFlag(FLAGS_paths), ',', absl::SkipEmpty());
  INPUTSERVE_ASSIGN_OR_RETURN(f.server_args,
                              ParseArgs(absl::GetFlag(FLAGS_server_args)));
  for (const std::string& name : f.sizes) {
    if (FindSize(name) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--sizes: unknown size '", name, "'"));
    }
  }
  f.runs = std::max(1, absl::GetFlag(FLAGS_runs));
  f.warmup = std::max(1, absl::GetFlag(FLAGS_warmup));
  f.bytes_per_case = absl::GetFlag(FLAGS_bytes_per_case);
  f.min_batches = absl::GetFlag(FLAGS_min_batches);
  f.chunk_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_chunk_bytes));
  f.next_calls = absl::GetFlag(FLAGS_next_calls);
  return f;
}

// Every run of every path for one batch size.
struct SizeResults {
  size_t payload = 0;
  std::map<std::string, std::vector<Measure>> measures;
  std::map<std::string, std::vector<ClientStats>> stats;
};

absl::StatusOr<std::unique_ptr<PoolServer>> StartPoolServer(
    const SizeCase& size, const BenchFlags& flags) {
  PoolServerOptions so;
  so.batch_size = size.batch_size;
  so.height = size.height;
  so.width = size.width;
  so.chunk_bytes = flags.chunk_bytes;
  so.channel_args = flags.server_args;
  absl::StatusOr<std::unique_ptr<PoolServer>> server = PoolServer::Create(so);
  if (!server.ok()) return Annotate("server", server.status());
  return server;
}

absl::StatusOr<SizeResults> MeasureSize(const SizeCase& size,
                                        const BenchFlags& flags) {
  INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<PoolServer> server,
                              StartPoolServer(size, flags));
  PoolServer& srv = *server;
  SizeResults out;
  out.payload = srv.payload_bytes();
  const int batches = static_cast<int>(std::max<int64_t>(
      flags.min_batches,
      flags.bytes_per_case / static_cast<int64_t>(out.payload)));
  std::vector<const uint8_t*> pool;
  for (int i = 0; i < PoolServerOptions().pool_size; ++i) {
    pool.push_back(srv.payload_for(1 + i).data());
  }
  for (int r = 0; r < flags.runs; ++r) {
    if (flags.wants("raw")) {
      absl::StatusOr<RawTcpRun> raw =
          RunRawTcp(pool, out.payload, flags.warmup, batches);
      if (!raw.ok()) return Annotate("raw", raw.status());
      out.measures["raw"].push_back(
          Measure{raw->seconds, raw->cpu_seconds, raw->batches, out.payload});
    }
    for (const auto& [path, mode] :
         {std::pair<const char*, ServingMode>{"real", ServingMode::kReal},
          {"synth", ServingMode::kSynthetic}}) {
      if (!flags.wants(path)) continue;
      ClientStats s;
      absl::StatusOr<Measure> m =
          RunClient(srv, mode, flags.warmup, batches, &s);
      if (!m.ok()) {
        return Annotate(absl::StrCat(size.name, " ", path), m.status());
      }
      out.measures[path].push_back(*m);
      out.stats[path].push_back(s);
    }
  }
  return out;
}

// One table row per measured path (medians); returns each path's GB/s
// ratio to raw TCP.
std::map<std::string, double> PrintSizeRows(const std::string& name,
                                            SizeResults& results) {
  auto median_of = [&](const std::string& path, auto field) {
    std::vector<double> v;
    for (const Measure& m : results.measures[path]) v.push_back(field(m));
    return Median(v);
  };
  const double raw_gbps =
      median_of("raw", [](const Measure& m) { return m.gbps(); });
  const double raw_cpu =
      median_of("raw", [](const Measure& m) { return m.cpu_ns_per_kib(); });
  std::map<std::string, double> ratios;
  for (const char* path : {"raw", "real", "synth"}) {
    if (results.measures[path].empty()) continue;
    const double gbps =
        median_of(path, [](const Measure& m) { return m.gbps(); });
    const double bps =
        median_of(path, [](const Measure& m) { return m.batches_per_s(); });
    const double cpu =
        median_of(path, [](const Measure& m) { return m.cpu_ns_per_kib(); });
    const double ratio = raw_gbps > 0 ? gbps / raw_gbps : 0;
    std::string ttfb = "-";
    std::string occupancy = "-";
    if (!results.stats[path].empty()) {
      std::vector<double> t;
      std::vector<double> o;
      for (const ClientStats& s : results.stats[path]) {
        t.push_back(s.time_to_first_batch_seconds * 1e3);
        o.push_back(s.prefetch_occupancy);
      }
      ttfb = absl::StrFormat("%.1f", Median(t));
      occupancy = absl::StrFormat("%.2f/%d", Median(o),
                                  results.stats[path].front().prefetch_depth);
    }
    // raw's CPU per byte over this path's: the throughput ratio to expect
    // where every core is busy (as on a shared 2-core machine), less noisy
    // than wall-clock ratios there.
    const double cpu_ratio = cpu > 0 && raw_cpu > 0 ? raw_cpu / cpu : 0;
    std::printf("%-7s %11zu %-6s %8.3f %11.1f %7.3f %11.1f %10.3f %8s %9s\n",
                name.c_str(), results.payload, path, gbps, bps, ratio, cpu,
                cpu_ratio, ttfb.c_str(), occupancy.c_str());
    ratios[path] = ratio;
  }
  std::fflush(stdout);
  return ratios;
}

// Cached synthetic Next(): on a 1 MiB server (the batch size does not
// matter once cached; the cost is one atomic load and two counters).
struct CachedNextFigures {
  double median_ns = 0;
  SyntheticNext worst;  // Largest bytes per step over the runs.
};

absl::StatusOr<CachedNextFigures> MeasureCachedNext(const BenchFlags& flags) {
  INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<PoolServer> server,
                              StartPoolServer(kSizes[1], flags));
  std::vector<double> ns;
  CachedNextFigures out;
  for (int r = 0; r < flags.runs; ++r) {
    absl::StatusOr<SyntheticNext> s =
        RunSyntheticNext(*server, flags.next_calls);
    if (!s.ok()) return Annotate("synthetic next", s.status());
    ns.push_back(s->ns_per_call);
    out.worst.client_bytes_per_step =
        std::max(out.worst.client_bytes_per_step, s->client_bytes_per_step);
    out.worst.server_bytes_per_step =
        std::max(out.worst.server_bytes_per_step, s->server_bytes_per_step);
  }
  out.median_ns = Median(ns);
  return out;
}

int Main() {
  absl::StatusOr<BenchFlags> flags = ReadFlags();
  if (!flags.ok()) {
    std::fprintf(stderr, "%s\n", flags.status().ToString().c_str());
    return 2;
  }
  std::printf(
      "inputserve-bench-stream: chunk_bytes=%zu connections=%d prefetch=%d "
      "runs=%d (medians)\n",
      flags->chunk_bytes, absl::GetFlag(FLAGS_connections),
      absl::GetFlag(FLAGS_prefetch), flags->runs);
  std::printf("%-7s %11s %-6s %8s %11s %7s %11s %10s %8s %9s\n", "size",
              "payload_B", "path", "GB/s", "batches/s", "vs_raw", "cpu_ns/KiB",
              "cpu_vs_raw", "ttfb_ms", "occupancy");
  std::map<std::string, double> real_ratio;
  std::map<std::string, double> synth_ratio;
  for (const std::string& name : flags->sizes) {
    absl::StatusOr<SizeResults> results = MeasureSize(*FindSize(name), *flags);
    if (!results.ok()) {
      std::fprintf(stderr, "%s\n",
                   std::string(results.status().message()).c_str());
      return 1;
    }
    std::map<std::string, double> ratios = PrintSizeRows(name, *results);
    if (ratios.count("real")) real_ratio[name] = ratios["real"];
    if (ratios.count("synth")) synth_ratio[name] = ratios["synth"];
  }

  absl::StatusOr<CachedNextFigures> cached = MeasureCachedNext(*flags);
  if (!cached.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(cached.status().message()).c_str());
    return 1;
  }
  const double bytes_per_step =
      cached->worst.client_bytes_per_step + cached->worst.server_bytes_per_step;
  std::printf(
      "cached synthetic Next(): %.2f ns/call (median of %d x %lld calls); "
      "bytes per step: client %.3f + server %.3f\n",
      cached->median_ns, flags->runs, static_cast<long long>(flags->next_calls),
      cached->worst.client_bytes_per_step, cached->worst.server_bytes_per_step);

  auto ratio_text = [](const std::map<std::string, double>& m,
                       const char* key) {
    auto it = m.find(key);
    return it == m.end() ? std::string("n/a")
                         : absl::StrFormat("%.3f", it->second);
  };
  std::string synth_line = "synthetic-stream ratios:";
  for (const auto& [k, v] : synth_ratio) {
    absl::StrAppend(&synth_line, absl::StrFormat(" %s=%.3f", k, v));
  }
  std::printf("%s\n", synth_line.c_str());
  std::printf(
      "RESULT stream_ratio_1MiB=%s stream_ratio_38MB=%s "
      "synthetic_next_ns=%.2f synthetic_bytes_per_step=%g\n",
      ratio_text(real_ratio, "1MiB").c_str(),
      ratio_text(real_ratio, "38.5MB").c_str(), cached->median_ns,
      bytes_per_step);
  return bytes_per_step == 0 ? 0 : 1;
}

}  // namespace
}  // namespace inputserve::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return inputserve::bench::Main();
}
