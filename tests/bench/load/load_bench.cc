// Load test: one inputserve-server on loopback, --streams concurrent
// StreamBatches calls from --procs client processes (this binary again with
// --worker), for --seconds. Prints the server's peak RSS, throughput and
// Next() latency percentiles, ending with one line:
// RESULT load_streams=<n> errors=<n> peak_rss_mb=<x> batches_per_sec=<x>
//        gbytes_per_sec=<x> next_p50_us=<x> next_p99_us=<x>
// Exit status 1 when any error was seen (never because of speed).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "tests/bench/load/load_worker.h"
#include "tests/testing/server_process.h"

ABSL_FLAG(int, streams, 64, "Concurrent streams in total (procs x clients).");
ABSL_FLAG(int, procs, 4, "Client processes; streams must divide evenly.");
ABSL_FLAG(double, seconds, 60, "Measured time per run (bounded: 1..600).");
ABSL_FLAG(std::string, dataset, "cifar10",
          "cifar10 (datagen files, REAL mode decodes them) or "
          "synthetic:imagenet / synthetic:cifar10.");
ABSL_FLAG(std::string, mode, "real",
          "Server mode: real, or synthetic (the cached batch at wire speed; "
          "clients keep streaming instead of caching it).");
ABSL_FLAG(int, batch_size, 128, "Examples per batch.");
ABSL_FLAG(int, image_size, 64, "synthetic:imagenet image side.");
ABSL_FLAG(int, num_examples, 5000, "cifar10: examples datagen writes.");
// Worker side (set by the driver).
ABSL_FLAG(bool, worker, false, "Run as a client process (internal).");
ABSL_FLAG(std::string, target, "", "Worker: server HOST:PORT.");
ABSL_FLAG(int, clients, 16, "Worker: Clients (one stream each).");

namespace inputserve::bench {
namespace {

using ::inputserve::testing::BinPath;
using ::inputserve::testing::MakeTempDir;
using ::inputserve::testing::RunCommand;
using ::inputserve::testing::ServerProcess;

std::string ReadAll(const std::string& path) {
  return inputserve::ReadWholeFile(path).value_or("");
}

// Peak resident set (VmHWM) of `pid` in MiB; -1 when unreadable.
double PeakRssMb(pid_t pid) {
  std::istringstream status(ReadAll(absl::StrCat("/proc/", pid, "/status")));
  std::string line;
  while (std::getline(status, line)) {
    long kb = 0;
    if (std::sscanf(line.c_str(), "VmHWM: %ld kB", &kb) == 1)
      return kb / 1024.0;
  }
  return -1;
}

std::string LoadAverage() {
  std::string text = ReadAll("/proc/loadavg");
  return text.substr(0, text.find('\n'));
}

int RunWorkerMain() {
  WorkerOptions o;
  o.target = absl::GetFlag(FLAGS_target);
  o.clients = absl::GetFlag(FLAGS_clients);
  o.duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  o.cache_synthetic = false;
  WorkerReport report = RunWorker(o);
  if (!report.first_error.empty()) {
    std::fprintf(stderr, "worker error: %s\n", report.first_error.c_str());
  }
  std::printf("%s\n", report.Encode().c_str());
  return 0;
}

int RunDriver(const char* self) {
  const int streams = absl::GetFlag(FLAGS_streams);
  const int procs = absl::GetFlag(FLAGS_procs);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  if (procs < 1 || streams < procs || streams % procs != 0 || seconds < 1 ||
      seconds > 600) {
    std::fprintf(stderr,
                 "error: need --procs >= 1 dividing --streams, and --seconds "
                 "in 1..600 (got streams=%d procs=%d seconds=%g)\n",
                 streams, procs, seconds);
    return 2;
  }
  const std::string dir = MakeTempDir("load-bench");
  std::string dataset = absl::GetFlag(FLAGS_dataset);
  if (dataset == "cifar10") {
    testing::CommandResult gen = RunCommand(
        {BinPath("inputserve-datagen"), "--format=cifar10", "--out=" + dir,
         absl::StrCat("--num_examples=", absl::GetFlag(FLAGS_num_examples))});
    if (gen.exit_code != 0) {
      std::fprintf(stderr, "datagen failed:\n%s\n", gen.output.c_str());
      return 2;
    }
    dataset = "cifar10:" + dir;
  }
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      {"--dataset=" + dataset, "--mode=" + absl::GetFlag(FLAGS_mode),
       absl::StrCat("--batch_size=", absl::GetFlag(FLAGS_batch_size)),
       absl::StrCat("--image_size=", absl::GetFlag(FLAGS_image_size)),
       absl::StrCat("--max_streams=", streams + 16), "--admin_listen="});
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return 2;
  }
  std::printf(
      "load: %d streams from %d processes, %s, mode %s, batch %d, "
      "%gs; loadavg before: %s\n",
      streams, procs, dataset.c_str(), absl::GetFlag(FLAGS_mode).c_str(),
      absl::GetFlag(FLAGS_batch_size), seconds, LoadAverage().c_str());
  std::fflush(stdout);

  std::vector<pid_t> pids;
  std::vector<std::string> outputs;
  for (int p = 0; p < procs; ++p) {
    outputs.push_back(absl::StrCat(dir, "/worker", p, ".out"));
    const std::vector<std::string> args = {
        self, "--worker", "--target=" + (*server)->data_target(),
        absl::StrCat("--clients=", streams / procs),
        absl::StrCat("--seconds=", seconds)};
    std::vector<char*> argv;
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, outputs.back().c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    if (posix_spawn(&pid, self, &actions, nullptr, argv.data(), environ) != 0) {
      std::fprintf(stderr, "cannot start a worker\n");
      return 2;
    }
    posix_spawn_file_actions_destroy(&actions);
    pids.push_back(pid);
  }
  // Bounded: a worker that has not finished well after its time is killed
  // and counted as an error.
  const absl::Time deadline = absl::Now() + absl::Seconds(seconds + 90);
  uint64_t errors = 0;
  for (pid_t pid : pids) {
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++errors;
  }
  const double peak_rss_mb = PeakRssMb((*server)->pid());
  const bool server_alive = (*server)->running();
  if (!server_alive) ++errors;

  WorkerReport total;
  double measured = 0;
  for (const std::string& path : outputs) {
    const std::string text = ReadAll(path);
    const size_t at = text.rfind("WORKER ");
    absl::StatusOr<WorkerReport> r =
        at == std::string::npos
            ? absl::StatusOr<WorkerReport>(absl::DataLossError("no report"))
            : WorkerReport::Decode(text.substr(at, text.find('\n', at) - at));
    if (!r.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(),
                   r.status().ToString().c_str());
      ++errors;
      continue;
    }
    total.batches += r->batches;
    total.bytes += r->bytes;
    total.errors += r->errors;
    total.latency.Merge(r->latency);
    measured = std::max(measured, r->seconds);
  }
  errors += total.errors;
  const double secs = measured > 0 ? measured : seconds;
  std::printf(
      "load: %llu batches, %.3f GB in %.1fs; server %s; loadavg "
      "after: %s\n",
      static_cast<unsigned long long>(total.batches), total.bytes / 1e9, secs,
      server_alive ? "alive" : "DEAD", LoadAverage().c_str());
  std::printf(
      "RESULT load_streams=%d errors=%llu peak_rss_mb=%.1f "
      "batches_per_sec=%.1f gbytes_per_sec=%.3f next_p50_us=%.0f "
      "next_p99_us=%.0f\n",
      streams, static_cast<unsigned long long>(errors), peak_rss_mb,
      total.batches / secs, total.bytes / 1e9 / secs,
      total.latency.PercentileMicros(0.50),
      total.latency.PercentileMicros(0.99));
  return errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace inputserve::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_worker)) return inputserve::bench::RunWorkerMain();
  // Workers are this binary again.
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return 2;
  self[n] = '\0';
  return inputserve::bench::RunDriver(self);
}
