// recv_bench: what receiving costs the trainer host's CPU. A real
// inputserve-server (--dataset=synthetic:imagenet, REAL mode, by default batch
// 256 = 38.5 MB) runs pinned to one core; a consumer process pinned to another
// creates an inputserve::Client and loops Next(). Side by side, in the same
// run, a raw TCP receiver reads the same number of bytes from a sender thread,
// pinned the same way (tests/bench/stream/raw_tcp.h). For both it prints:
//
//   GB/s, receiver CPU-seconds per GB (user and system apart), minor/major
//   page faults and voluntary/involuntary context switches per batch, and the
//   sender's CPU-seconds per GB (server process, or the raw sender thread).
//
// The consumer's figures are getrusage(RUSAGE_SELF) of its whole process (all
// of gRPC's threads included) over the timed batches; the server's come from
// /proc/<pid>/stat over the same span; raw's from getrusage(RUSAGE_THREAD) of
// each of its two threads. Runs alternate raw, client, raw, ... and the table
// shows medians. The last line is
//   RESULT recv_cpu_ratio=<client CPU/GB over raw's> recv_gbps_ratio=<client
//          GB/s over raw's> client_cpu_s_per_gb=<x> raw_cpu_s_per_gb=<x>
//          faults_per_batch=<x> ctx_switches_per_batch=<x>
//          server_cpu_s_per_gb=<x> raw_sender_cpu_s_per_gb=<x>
// Exit status 1 when a run fails or a batch has the wrong shape; never for
// speed. The machine is shared: compare the ratios, not absolute figures.
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "inputserve/client.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/stream/raw_tcp.h"
#include "tests/testing/server_process.h"

ABSL_FLAG(int, batches, 150, "Timed batches per run.");
ABSL_FLAG(int, warmup, 5, "Untimed batches before each timed span.");
ABSL_FLAG(int, runs, 3, "Runs of each path, interleaved; medians shown.");
ABSL_FLAG(int, batch_size, 256, "Server --batch_size.");
ABSL_FLAG(int, image_size, 224, "Server --image_size (synthetic:imagenet).");
ABSL_FLAG(int64_t, chunk_bytes, 0, "Server --chunk_bytes; 0 = its default.");
ABSL_FLAG(int, prefetch, 2, "ClientOptions::prefetch_batches.");
ABSL_FLAG(int, server_cpu, 0, "Core for the server and the raw sender.");
ABSL_FLAG(int, client_cpu, 1, "Core for the consumer and the raw receiver.");
ABSL_FLAG(std::string, server_args, "",
          "Extra inputserve-server flags, comma-separated.");

namespace inputserve::bench {
namespace {

// One path's figures over its timed batches. POD: crosses a pipe.
struct PathRun {
  double seconds = 0;
  double batches = 0;
  double bytes = 0;
  ThreadUsage receiver;
  double sender_cpu_seconds = 0;
  char error[512] = {};
};

ThreadUsage ProcessUsage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto seconds = [](const timeval& tv) {
    return tv.tv_sec + tv.tv_usec * 1e-6;
  };
  return {seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_minflt,
          ru.ru_majflt,         ru.ru_nvcsw,          ru.ru_nivcsw};
}


void SetError(PathRun* run, const absl::Status& status) {
  std::snprintf(run->error, sizeof(run->error), "%s",
                status.ToString().c_str());
}

// The consumer: runs in a forked child (gRPC starts only there), pinned to
// --client_cpu before any thread exists, so all of its threads stay there.
PathRun ConsumeBatches(const std::string& target, pid_t server_pid,
                       size_t payload_bytes) {
  PathRun run;
  if (absl::Status s = PinThisThread(absl::GetFlag(FLAGS_client_cpu));
      !s.ok()) {
    SetError(&run, s);
    return run;
  }
  ClientOptions options;
  options.targets = {target};
  options.device_kind = DeviceKind::kHost;
  options.prefetch_batches = absl::GetFlag(FLAGS_prefetch);
  options.consumer_id = "recv-bench";
  options.unavailable_timeout = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  if (!client.ok()) {
    SetError(&run, client.status());
    return run;
  }
  const int warmup = std::max(1, absl::GetFlag(FLAGS_warmup));
  const int batches = std::max(1, absl::GetFlag(FLAGS_batches));
  absl::Time start;
  ThreadUsage usage_start;
  double server_start = 0;
  for (int i = 0; i < warmup + batches; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    if (!batch.ok()) {
      SetError(&run, batch.status());
      return run;
    }
    size_t bytes = 0;
    for (const TensorView& t : (*batch)->devices[0].tensors) {
      bytes += t.num_bytes;
    }
    if (bytes != payload_bytes) {
      SetError(&run,
               absl::DataLossError(absl::StrCat(
                   "batch has ", bytes, " bytes, expected ", payload_bytes)));
      return run;
    }
    if (i == warmup - 1) {
      absl::StatusOr<double> server = ProcessCpuSeconds(server_pid);
      if (!server.ok()) {
        SetError(&run, server.status());
        return run;
      }
      server_start = *server;
      start = absl::Now();
      usage_start = ProcessUsage();
    }
  }
  const ThreadUsage end = ProcessUsage();
  run.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  absl::StatusOr<double> server_end = ProcessCpuSeconds(server_pid);
  if (!server_end.ok()) {
    SetError(&run, server_end.status());
    return run;
  }
  run.sender_cpu_seconds = *server_end - server_start;
  run.receiver = {end.user_seconds - usage_start.user_seconds,
                  end.system_seconds - usage_start.system_seconds,
                  end.minor_faults - usage_start.minor_faults,
                  end.major_faults - usage_start.major_faults,
                  end.voluntary_switches - usage_start.voluntary_switches,
                  end.involuntary_switches - usage_start.involuntary_switches};
  run.batches = batches;
  run.bytes = static_cast<double>(batches) * payload_bytes;
  return run;
}

// Forks a consumer and reads its PathRun back over a pipe.
absl::StatusOr<PathRun> RunClientPath(const std::string& target,
                                      pid_t server_pid, size_t payload_bytes) {
  int fds[2];
  if (pipe(fds) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    close(fds[0]);
    const PathRun run = ConsumeBatches(target, server_pid, payload_bytes);
    const ssize_t n = write(fds[1], &run, sizeof(run));
    // Skip destructors of the parent's copies; gRPC's own threads die too.
    _exit(n == static_cast<ssize_t>(sizeof(run)) ? 0 : 1);
  }
  close(fds[1]);
  PathRun run;
  size_t got = 0;
  while (got < sizeof(run)) {
    const ssize_t n =
        read(fds[0], reinterpret_cast<char*>(&run) + got, sizeof(run) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (got != sizeof(run)) {
    return absl::InternalError(absl::StrCat(
        "consumer process ended without a result (wait status ", wstatus, ")"));
  }
  if (run.error[0] != '\0') return absl::InternalError(run.error);
  return run;
}

absl::StatusOr<PathRun> RunRawPath(const std::vector<const uint8_t*>& pool,
                                   size_t payload_bytes) {
  RawTcpPins pins;
  pins.sender_cpu = absl::GetFlag(FLAGS_server_cpu);
  pins.receiver_cpu = absl::GetFlag(FLAGS_client_cpu);
  const int batches = std::max(1, absl::GetFlag(FLAGS_batches));
  absl::StatusOr<RawTcpRun> raw =
      RunRawTcp(pool, payload_bytes, std::max(1, absl::GetFlag(FLAGS_warmup)),
                batches, pins);
  if (!raw.ok()) return raw.status();
  PathRun run;
  run.seconds = raw->seconds;
  run.batches = batches;
  run.bytes = static_cast<double>(batches) * payload_bytes;
  run.receiver = raw->receiver;
  run.sender_cpu_seconds =
      raw->sender.user_seconds + raw->sender.system_seconds;
  return run;
}

// Per-path figures derived from one run.
struct Figures {
  double gbps, user_per_gb, sys_per_gb, cpu_per_gb, minflt, majflt, vcsw, ivcsw,
      sender_per_gb;
};

Figures FiguresOf(const PathRun& r) {
  const double gb = r.bytes / 1e9;
  const ThreadUsage& u = r.receiver;
  return {gb / r.seconds,
          u.user_seconds / gb,
          u.system_seconds / gb,
          (u.user_seconds + u.system_seconds) / gb,
          u.minor_faults / r.batches,
          u.major_faults / r.batches,
          u.voluntary_switches / r.batches,
          u.involuntary_switches / r.batches,
          r.sender_cpu_seconds / gb};
}


// Field-wise medians.
Figures MedianOf(const std::vector<Figures>& runs) {
  Figures out{};
  double Figures::*fields[] = {
      &Figures::gbps,       &Figures::user_per_gb, &Figures::sys_per_gb,
      &Figures::cpu_per_gb, &Figures::minflt,      &Figures::majflt,
      &Figures::vcsw,       &Figures::ivcsw,       &Figures::sender_per_gb};
  for (double Figures::*f : fields) {
    std::vector<double> v;
    for (const Figures& r : runs) v.push_back(r.*f);
    out.*f = Median(v);
  }
  return out;
}

void PrintRow(const char* path, const Figures& f) {
  std::printf("%-6s %7.3f %9.3f %9.3f %9.3f %11.1f %11.2f %9.1f %9.1f %11.3f\n",
              path, f.gbps, f.user_per_gb, f.sys_per_gb, f.cpu_per_gb, f.minflt,
              f.majflt, f.vcsw, f.ivcsw, f.sender_per_gb);
}

// Starts the server pinned to --server_cpu: the child inherits the mask of
// the thread that forks it.
absl::StatusOr<std::unique_ptr<testing::ServerProcess>> StartServer() {
  std::vector<std::string> args = {
      "--dataset=synthetic:imagenet",
      "--mode=real",
      absl::StrCat("--batch_size=", absl::GetFlag(FLAGS_batch_size)),
      absl::StrCat("--image_size=", absl::GetFlag(FLAGS_image_size)),
      "--admin_listen=",
      "--metrics_listen="};
  if (absl::GetFlag(FLAGS_chunk_bytes) > 0) {
    args.push_back(
        absl::StrCat("--chunk_bytes=", absl::GetFlag(FLAGS_chunk_bytes)));
  }
  for (absl::string_view extra : absl::StrSplit(
           absl::GetFlag(FLAGS_server_args), ',', absl::SkipEmpty())) {
    args.emplace_back(extra);
  }
  cpu_set_t saved;
  if (sched_getaffinity(0, sizeof(saved), &saved) != 0) {
    return absl::InternalError("sched_getaffinity failed");
  }
  if (absl::Status s = PinThisThread(absl::GetFlag(FLAGS_server_cpu));
      !s.ok()) {
    return s;
  }
  auto server = testing::ServerProcess::Start(args);
  sched_setaffinity(0, sizeof(saved), &saved);
  return server;
}

int Main() {
  const int image = absl::GetFlag(FLAGS_image_size);
  const int batch = absl::GetFlag(FLAGS_batch_size);
  if (batch < 1 || image < 1) {
    std::fprintf(stderr, "--batch_size and --image_size must be >= 1\n");
    return 2;
  }
  const size_t payload =
      static_cast<size_t>(batch) * (static_cast<size_t>(image) * image * 3 + 4);
  absl::StatusOr<std::unique_ptr<testing::ServerProcess>> server =
      StartServer();
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string target = (*server)->data_target();
  // The raw sender's payloads: distinct, touched, non-zero buffers.
  std::vector<std::vector<uint8_t>> buffers(4, std::vector<uint8_t>(payload));
  std::vector<const uint8_t*> pool;
  for (size_t b = 0; b < buffers.size(); ++b) {
    for (size_t i = 0; i < payload; i += 64) {
      buffers[b][i] = static_cast<uint8_t>(i * 31 + b + 1);
    }
    pool.push_back(buffers[b].data());
  }

  const int runs = std::max(1, absl::GetFlag(FLAGS_runs));
  std::printf(
      "recv_bench: synthetic:imagenet real mode, batch %d (%zu B), %d batches "
      "x %d runs (medians); server/sender on cpu %d, consumer/receiver on cpu "
      "%d\n",
      batch, payload, absl::GetFlag(FLAGS_batches), runs,
      absl::GetFlag(FLAGS_server_cpu), absl::GetFlag(FLAGS_client_cpu));
  std::vector<Figures> raw_runs, client_runs;
  for (int r = 0; r < runs; ++r) {
    absl::StatusOr<PathRun> raw = RunRawPath(pool, payload);
    if (!raw.ok()) {
      std::fprintf(stderr, "raw: %s\n", raw.status().ToString().c_str());
      return 1;
    }
    raw_runs.push_back(FiguresOf(*raw));
    absl::StatusOr<PathRun> client =
        RunClientPath(target, (*server)->pid(), payload);
    if (!client.ok()) {
      std::fprintf(stderr, "client: %s\n", client.status().ToString().c_str());
      return 1;
    }
    client_runs.push_back(FiguresOf(*client));
  }
  const Figures raw = MedianOf(raw_runs);
  const Figures client = MedianOf(client_runs);
  std::printf("%-6s %7s %9s %9s %9s %11s %11s %9s %9s %11s\n", "path", "GB/s",
              "user_s/GB", "sys_s/GB", "cpu_s/GB", "minflt/bat", "majflt/bat",
              "vcsw/bat", "ivcsw/bat", "send_cpu/GB");
  PrintRow("raw", raw);
  PrintRow("client", client);
  std::printf(
      "RESULT recv_cpu_ratio=%.3f recv_gbps_ratio=%.3f "
      "client_cpu_s_per_gb=%.4f raw_cpu_s_per_gb=%.4f faults_per_batch=%.1f "
      "ctx_switches_per_batch=%.1f server_cpu_s_per_gb=%.4f "
      "raw_sender_cpu_s_per_gb=%.4f\n",
      raw.cpu_per_gb > 0 ? client.cpu_per_gb / raw.cpu_per_gb : 0,
      raw.gbps > 0 ? client.gbps / raw.gbps : 0, client.cpu_per_gb,
      raw.cpu_per_gb, client.minflt + client.majflt, client.vcsw + client.ivcsw,
      client.sender_per_gb, raw.sender_per_gb);
  return 0;
}

}  // namespace
}  // namespace inputserve::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return inputserve::bench::Main();
}
