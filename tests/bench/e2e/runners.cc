#include "tests/bench/e2e/runners.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "inputserve/client.h"
#include "tests/bench/bench_util.h"
#include "tests/testing/server_process.h"

namespace inputserve::bench {
namespace {

using testing::ServerProcess;

double SelfCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// Starts a server on the dataset `spec` with config's and `extra` flags.
absl::StatusOr<std::unique_ptr<ServerProcess>> StartServer(
    const std::string& spec, const RunConfig& config,
    const std::vector<std::string>& extra = {}) {
  const int threads =
      config.decode_threads > 0 ? config.decode_threads : Cores();
  std::vector<std::string> args = {
      absl::StrCat("--dataset=", spec),
      absl::StrCat("--batch_size=", config.batch_size),
      absl::StrCat("--decode_threads=", threads), "--admin_insecure_no_auth"};
  args.insert(args.end(), config.server_args.begin(), config.server_args.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess::Start(args, absl::Seconds(120));
}

absl::StatusOr<std::unique_ptr<Client>> Connect(const ServerProcess& server) {
  ClientOptions options;
  options.targets = {server.data_target()};
  options.num_devices = 0;
  options.device_kind = DeviceKind::kHost;
  options.consumer_id = "e2e_bench";
  return Client::Create(std::move(options));
}

// Receives one batch and checks its shape.
absl::Status Pull(Client& client, int batch_size) {
  INPUTSERVE_ASSIGN_OR_RETURN(const Batch* batch, client.Next());
  if (batch->global_batch_size != batch_size) {
    return absl::InternalError(absl::StrCat(
        "batch of ", batch->global_batch_size, ", want ", batch_size));
  }
  const TensorView* image = batch->devices.at(0).Find("image");
  if (image == nullptr || image->shape.size() != 4 ||
      image->shape[0] != batch_size || image->data == nullptr) {
    return absl::InternalError("batch without a [B,H,W,3] image tensor");
  }
  return absl::OkStatus();
}

// A point in time of a measurement: wall clock, server and client CPU, bytes.
struct Mark {
  std::chrono::steady_clock::time_point when;
  double server_cpu = 0;
  double client_cpu = 0;
  uint64_t bytes = 0;
};

Mark MarkNow(const ServerProcess& server, const Client& client) {
  return {std::chrono::steady_clock::now(),
          ProcessCpuSeconds(server.pid()).value_or(0), SelfCpuSeconds(),
          client.stats().bytes_received};
}

ServeFigures Between(const Mark& a, const Mark& b, double images) {
  const double seconds = std::chrono::duration<double>(b.when - a.when).count();
  ServeFigures out;
  out.images_per_sec = images / seconds;
  out.gbit_per_sec = (b.bytes - a.bytes) * 8 / seconds / 1e9;
  out.server_cpu_per_image_ms = (b.server_cpu - a.server_cpu) / images * 1e3;
  out.client_cpu_per_image_ms = (b.client_cpu - a.client_cpu) / images * 1e3;
  return out;
}

// "hits=.. misses=.. bytes=.." of the server's decoded-cache metrics.
std::string CacheMetrics(const ServerProcess& server) {
  const std::string text =
      testing::HttpGet(server.metrics_port(), "/metrics").value_or("");
  return absl::StrFormat(
      "hits=%.0f misses=%.0f bytes=%.0f",
      testing::MetricValue(text, "inputserve_decoded_cache_hits_total")
          .value_or(-1),
      testing::MetricValue(text, "inputserve_decoded_cache_misses_total")
          .value_or(-1),
      testing::MetricValue(text, "inputserve_decoded_cache_bytes")
          .value_or(-1));
}

}  // namespace

int Cores() { return std::max(1u, std::thread::hardware_concurrency()); }

absl::StatusOr<ServeFigures> MeasureInputserve(const std::string& spec,
                                               const RunConfig& config) {
  INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<ServerProcess> server,
                              StartServer(spec, config));
  INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Connect(*server));
  for (int i = 0; i < config.warmup; ++i) {
    INPUTSERVE_RETURN_IF_ERROR(Pull(*client, config.batch_size));
  }
  const Mark start = MarkNow(*server, *client);
  for (int i = 0; i < config.batches; ++i) {
    INPUTSERVE_RETURN_IF_ERROR(Pull(*client, config.batch_size));
  }
  const ServeFigures out =
      Between(start, MarkNow(*server, *client),
              static_cast<double>(config.batches) * config.batch_size);
  client.reset();
  server->StopWithSignal(SIGTERM);
  return out;
}

absl::StatusOr<EpochFigures> MeasureEpochs(
    const std::string& spec, const RunConfig& config, int records, int epochs,
    const std::vector<std::string>& extra_args) {
  const int per_epoch = records / config.batch_size;
  if (per_epoch < 2 || records % config.batch_size != 0 || epochs < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "epoch figures need --records a multiple of --batch_size with at "
        "least 2 batches per epoch and --epochs >= 2 (got ",
        records, " records, batch ", config.batch_size, ", ", epochs,
        " epochs)"));
  }
  INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<ServerProcess> server,
                              StartServer(spec, config, extra_args));
  INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Connect(*server));
  const double b = config.batch_size;
  const int total = per_epoch * epochs;
  Mark first, epoch1_end;
  for (int i = 0; i < total; ++i) {
    INPUTSERVE_RETURN_IF_ERROR(Pull(*client, config.batch_size));
    if (i == 0) first = MarkNow(*server, *client);
    if (i == per_epoch - 1) epoch1_end = MarkNow(*server, *client);
  }
  const Mark last = MarkNow(*server, *client);
  EpochFigures out;
  out.all = Between(first, last, (total - 1) * b);
  out.first = Between(first, epoch1_end, (per_epoch - 1) * b);
  out.later = Between(epoch1_end, last, (total - per_epoch) * b);
  out.cache_metrics = CacheMetrics(*server);
  client.reset();
  server->StopWithSignal(SIGTERM);
  return out;
}

absl::StatusOr<PeerFigures> MeasurePeer(const std::vector<std::string>& files,
                                        const RunConfig& config) {
  const int workers = config.num_workers > 0 ? config.num_workers : Cores();
  std::vector<std::string> argv = {
      config.python,
      absl::StrCat(INPUTSERVE_SOURCE_DIR,
                   "/tests/bench/peer/dataloader_peer.py"),
      absl::StrCat("--batch_size=", config.batch_size),
      absl::StrCat("--num_workers=", workers),
      absl::StrCat("--warmup=", config.warmup),
      absl::StrCat("--batches=", config.batches)};
  argv.insert(argv.end(), files.begin(), files.end());
  const testing::CommandResult r =
      testing::RunCommand(argv, absl::Seconds(900));
  PeerFigures out;
  if (r.exit_code == 77) return out;
  std::smatch m;
  static const std::regex kRate(
      R"(PEER images_per_sec=([0-9.]+) cpu_ms_per_image=([0-9.]+))");
  if (r.exit_code != 0 || !std::regex_search(r.output, m, kRate)) {
    return absl::InternalError(absl::StrCat("DataLoader peer failed (exit ",
                                            r.exit_code, "):\n", r.output));
  }
  out.images_per_sec = std::stod(m[1]);
  out.cpu_per_image_ms = std::stod(m[2]);
  return out;
}

// DataLoader(InputServeDataset) from the build tree's Python package
// against a fresh server; images/s -1 when the package or torch is missing.
absl::StatusOr<ServeFigures> MeasurePython(const std::string& spec,
                                           const RunConfig& config) {
  INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<ServerProcess> server,
                              StartServer(spec, config));
  const testing::CommandResult r = testing::RunCommand(
      {"/usr/bin/env",
       absl::StrCat("PYTHONPATH=", INPUTSERVE_BIN_DIR, "/../python"),
       config.python,
       absl::StrCat(INPUTSERVE_SOURCE_DIR,
                    "/tests/bench/peer/inputserve_torch_peer.py"),
       absl::StrCat("--target=", server->data_target()),
       absl::StrCat("--server_pid=", server->pid()),
       absl::StrCat("--warmup=", config.warmup),
       absl::StrCat("--batches=", config.batches)},
      absl::Seconds(900));
  server->StopWithSignal(SIGTERM);
  ServeFigures out;
  out.images_per_sec = -1;
  if (r.exit_code == 77) return out;
  std::smatch m;
  static const std::regex kRate(
      R"(PYPEER images_per_sec=([0-9.]+) cpu_ms_per_image=([0-9.]+) )"
      R"(server_cpu_ms_per_image=([0-9.]+))");
  if (r.exit_code != 0 || !std::regex_search(r.output, m, kRate)) {
    return absl::InternalError(absl::StrCat("Python peer failed (exit ",
                                            r.exit_code, "):\n", r.output));
  }
  out.images_per_sec = std::stod(m[1]);
  out.client_cpu_per_image_ms = std::stod(m[2]);
  out.server_cpu_per_image_ms = std::stod(m[3]);
  return out;
}

}  // namespace inputserve::bench
