// Deterministic vs arrival order on the end-to-end setup: sharded
// inputserve-server replicas on loopback serving generated JPEG TFRecords,
// read through the client library into host memory. Measures, in the same
// run, images/s of both orders (alternating, median over --runs), and the
// stall a deterministic rank sees while one shard's only replica is
// SIGKILLed and restarted on its port: the longest gap between two batches
// and the extra wall time against an undisturbed run of the same steps.
//
// Prints
//   RESULT arrival_images_per_sec=<x> deterministic_images_per_sec=<x>
//   ratio=<det/arr> arrival_cpu_ms_per_image=<x>
//   deterministic_cpu_ms_per_image=<x> stall_max_gap_ms=<x>
//   undisturbed_max_gap_ms=<x> stall_extra_ms=<x> restart_ms=<x> replicas=<n>
// on one line (CPU: servers and client together over the timed batches).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "inputserve/client.h"
#include "inputserve/options.h"
#include "server/tools/datagen.h"
#include "tests/bench/bench_util.h"
#include "tests/testing/server_process.h"

ABSL_FLAG(int, replicas, 3, "Shards, one replica each (1..8).");
ABSL_FLAG(int, records, 1536, "Generated JPEG records over all shards.");
ABSL_FLAG(int, min_size, 200, "Smallest generated image side.");
ABSL_FLAG(int, max_size, 400, "Largest generated image side.");
ABSL_FLAG(int, image_size, 128, "--image_size of the servers.");
ABSL_FLAG(int, batch_size, 64, "--batch_size of the servers.");
ABSL_FLAG(int, decode_threads, 0, "--decode_threads of each server.");
ABSL_FLAG(int, warmup, 16,
          "Batches read before timing each run (more than the arrival "
          "batches the servers hold built: --prefetch_batches 4 each).");
ABSL_FLAG(int, batches, 150,
          "Timed batches per run and order. Short runs favour arrival: a "
          "deterministic stream's servers first build ahead as far as the "
          "transport buffers let them.");
ABSL_FLAG(int, runs, 3, "Alternating arrival/deterministic runs.");
ABSL_FLAG(int, stall_runs, 5, "Pairs of undisturbed and killed stall runs.");
ABSL_FLAG(int, stall_batches, 40,
          "Steps of each stall run; the replica dies after a third of them.");

namespace inputserve::bench {
namespace {

using testing::ServerProcess;

struct Replica {
  std::vector<std::string> args;
  std::unique_ptr<ServerProcess> process;
  std::string target;
};

absl::StatusOr<std::vector<Replica>> StartReplicas(const std::string& dir) {
  const int n = absl::GetFlag(FLAGS_replicas);
  std::vector<Replica> replicas;
  for (int s = 0; s < n; ++s) {
    Replica r;
    r.args = {
        "--dataset=imagenet:" + dir + "/train-*",
        absl::StrCat("--num_shards=", n),
        absl::StrCat("--shard_index=", s),
        absl::StrCat("--batch_size=", absl::GetFlag(FLAGS_batch_size)),
        absl::StrCat("--image_size=", absl::GetFlag(FLAGS_image_size)),
        absl::StrCat("--decode_threads=", absl::GetFlag(FLAGS_decode_threads)),
        "--seed=3",
        "--admin_listen=",
        "--metrics_listen="};
    absl::StatusOr<std::unique_ptr<ServerProcess>> p =
        ServerProcess::Start(r.args);
    if (!p.ok()) return p.status();
    r.process = *std::move(p);
    r.target = r.process->data_target();
    replicas.push_back(std::move(r));
  }
  return replicas;
}

absl::StatusOr<std::unique_ptr<Client>> MakeClient(
    const std::vector<Replica>& replicas, Ordering ordering) {
  ClientOptions options;
  for (const Replica& r : replicas) options.targets.push_back(r.target);
  options.num_devices = 0;
  options.ordering = ordering;
  options.consumer_id = "order_bench";
  options.unavailable_timeout = absl::Seconds(60);
  return Client::Create(std::move(options));
}

// When each of `count` batches arrived, after `warmup` untimed ones;
// `on_batch(-1)` runs when the timed part starts, `on_batch(i)` after timed
// batch i.
absl::StatusOr<std::vector<absl::Time>> Read(
    Client* client, int warmup, int count,
    const std::function<void(int)>& on_batch = nullptr) {
  for (int i = 0; i < warmup; ++i) {
    absl::StatusOr<const Batch*> b = client->Next();
    if (!b.ok()) return b.status();
  }
  if (on_batch) on_batch(-1);
  std::vector<absl::Time> times = {absl::Now()};
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<const Batch*> b = client->Next();
    if (!b.ok()) return b.status();
    times.push_back(absl::Now());
    if (on_batch) on_batch(i);
  }
  return times;
}

double LongestGapMs(const std::vector<absl::Time>& times) {
  double gap = 0;
  for (size_t i = 1; i < times.size(); ++i) {
    gap = std::max(gap, absl::ToDoubleMilliseconds(times[i] - times[i - 1]));
  }
  return gap;
}

// CPU seconds of every replica and of this process (the client) so far.
absl::StatusOr<double> CpuSeconds(const std::vector<Replica>& replicas) {
  double total = 0;
  for (const Replica& r : replicas) {
    absl::StatusOr<double> s = ProcessCpuSeconds(r.process->pid());
    if (!s.ok()) return s.status();
    total += *s;
  }
  absl::StatusOr<double> self = ProcessCpuSeconds(getpid());
  if (!self.ok()) return self.status();
  return total + *self;
}

struct Rate {
  double images_per_sec = 0;
  double cpu_ms_per_image = 0;  // Servers and client together.
};

absl::StatusOr<Rate> Measure(const std::vector<Replica>& replicas,
                             Ordering ordering) {
  absl::StatusOr<std::unique_ptr<Client>> client =
      MakeClient(replicas, ordering);
  if (!client.ok()) return client.status();
  const int batches = absl::GetFlag(FLAGS_batches);
  absl::StatusOr<double> cpu_before = 0.0;
  absl::StatusOr<std::vector<absl::Time>> times =
      Read(client->get(), absl::GetFlag(FLAGS_warmup), batches, [&](int i) {
        if (i == -1) cpu_before = CpuSeconds(replicas);
      });
  if (!times.ok()) return times.status();
  absl::StatusOr<double> cpu_after = CpuSeconds(replicas);
  if (!cpu_before.ok()) return cpu_before.status();
  if (!cpu_after.ok()) return cpu_after.status();
  const double images = 1.0 * batches * absl::GetFlag(FLAGS_batch_size);
  const double s = absl::ToDoubleSeconds(times->back() - times->front());
  return Rate{s > 0 ? images / s : 0,
              1000 * (*cpu_after - *cpu_before) / images};
}

struct StallRun {
  double seconds = 0;
  double max_gap_ms = 0;
  double restart_ms = 0;
};

// A deterministic rank reads --stall_batches steps; with `kill`, replica 1
// (0 when there is one) is SIGKILLed after a third of them and restarted on
// its port by another thread while the rank keeps reading.
absl::StatusOr<StallRun> Stall(std::vector<Replica>* replicas, bool kill) {
  absl::StatusOr<std::unique_ptr<Client>> client =
      MakeClient(*replicas, Ordering::kDeterministic);
  if (!client.ok()) return client.status();
  const int count = absl::GetFlag(FLAGS_stall_batches);
  Replica& victim = (*replicas)[replicas->size() > 1 ? 1 : 0];
  std::atomic<bool> go{false};
  absl::Status restarted = absl::OkStatus();
  StallRun run;
  std::thread killer([&] {
    while (kill && !go.load()) absl::SleepFor(absl::Milliseconds(1));
    if (!kill) return;
    const absl::Time start = absl::Now();
    victim.process->Kill();
    absl::StatusOr<std::unique_ptr<ServerProcess>> p =
        testing::StartOnPort(victim.args, victim.target);
    if (p.ok()) {
      victim.process = *std::move(p);
    } else {
      restarted = p.status();
    }
    run.restart_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  });
  absl::StatusOr<std::vector<absl::Time>> times =
      Read(client->get(), absl::GetFlag(FLAGS_warmup), count, [&](int i) {
        if (i == count / 3) go.store(true);
      });
  go.store(true);
  killer.join();
  if (!times.ok()) return times.status();
  if (!restarted.ok()) return restarted;
  run.seconds = absl::ToDoubleSeconds(times->back() - times->front());
  run.max_gap_ms = LongestGapMs(*times);
  return run;
}

int Main() {
  const std::string dir = testing::MakeTempDir("order_bench");
  DatagenOptions gen;
  gen.format = DatagenOptions::Format::kTfrecord;
  gen.out_dir = dir;
  gen.num_examples = static_cast<uint64_t>(absl::GetFlag(FLAGS_records));
  gen.seed = 1;
  // At least a file per shard: each replica reads whole files.
  gen.num_files = std::max(4, absl::GetFlag(FLAGS_replicas));
  gen.min_size = absl::GetFlag(FLAGS_min_size);
  gen.max_size = absl::GetFlag(FLAGS_max_size);
  if (absl::StatusOr<std::vector<std::string>> files = WriteDataset(gen);
      !files.ok()) {
    std::fprintf(stderr, "order_bench: datagen: %s\n",
                 files.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::vector<Replica>> replicas = StartReplicas(dir);
  if (!replicas.ok()) {
    std::fprintf(stderr, "order_bench: %s\n",
                 replicas.status().ToString().c_str());
    return 1;
  }
  std::vector<double> arrival, deterministic, ratios, arrival_cpu, det_cpu;
  for (int run = 0; run < absl::GetFlag(FLAGS_runs); ++run) {
    // Alternate which order goes first so drift hits both alike.
    Rate rates[2];
    for (int k = 0; k < 2; ++k) {
      const bool det = (run + k) % 2 == 1;
      absl::StatusOr<Rate> rate = Measure(
          *replicas, det ? Ordering::kDeterministic : Ordering::kArrival);
      if (!rate.ok()) {
        std::fprintf(stderr, "order_bench: %s run %d: %s\n",
                     det ? "deterministic" : "arrival", run,
                     rate.status().ToString().c_str());
        return 1;
      }
      rates[det ? 1 : 0] = *rate;
      std::printf("run %d %-13s %.1f images/s %.3f CPU ms/image\n", run,
                  det ? "deterministic" : "arrival", rate->images_per_sec,
                  rate->cpu_ms_per_image);
    }
    arrival.push_back(rates[0].images_per_sec);
    deterministic.push_back(rates[1].images_per_sec);
    arrival_cpu.push_back(rates[0].cpu_ms_per_image);
    det_cpu.push_back(rates[1].cpu_ms_per_image);
    if (rates[0].images_per_sec > 0) {
      ratios.push_back(rates[1].images_per_sec / rates[0].images_per_sec);
    }
  }
  std::vector<double> gap, calm_gap, extra, restart;
  for (int run = 0; run < absl::GetFlag(FLAGS_stall_runs); ++run) {
    absl::StatusOr<StallRun> calm = Stall(&*replicas, /*kill=*/false);
    absl::StatusOr<StallRun> hit =
        calm.ok() ? Stall(&*replicas, /*kill=*/true) : calm;
    if (!hit.ok()) {
      std::fprintf(stderr, "order_bench: stall run %d: %s\n", run,
                   hit.status().ToString().c_str());
      return 1;
    }
    std::printf(
        "stall run %d: longest gap %.0f ms (undisturbed %.0f ms), %.0f ms "
        "longer than undisturbed, restart took %.0f ms\n",
        run, hit->max_gap_ms, calm->max_gap_ms,
        1000 * (hit->seconds - calm->seconds), hit->restart_ms);
    gap.push_back(hit->max_gap_ms);
    calm_gap.push_back(calm->max_gap_ms);
    extra.push_back(1000 * (hit->seconds - calm->seconds));
    restart.push_back(hit->restart_ms);
  }
  // ratio: the median of each run's pair (adjacent in time, so the load of
  // the moment hits both).
  std::printf(
      "RESULT arrival_images_per_sec=%.1f deterministic_images_per_sec=%.1f "
      "ratio=%.3f arrival_cpu_ms_per_image=%.3f "
      "deterministic_cpu_ms_per_image=%.3f stall_max_gap_ms=%.0f "
      "undisturbed_max_gap_ms=%.0f stall_extra_ms=%.0f restart_ms=%.0f "
      "replicas=%d\n",
      Median(arrival), Median(deterministic), Median(ratios),
      Median(arrival_cpu), Median(det_cpu), Median(gap), Median(calm_gap),
      Median(extra), Median(restart), absl::GetFlag(FLAGS_replicas));
  return 0;
}

}  // namespace
}  // namespace inputserve::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_replicas) < 1 || absl::GetFlag(FLAGS_replicas) > 8 ||
      absl::GetFlag(FLAGS_batches) < 1 || absl::GetFlag(FLAGS_runs) < 1 ||
      absl::GetFlag(FLAGS_stall_runs) < 1 ||
      absl::GetFlag(FLAGS_stall_batches) < 3 ||
      absl::GetFlag(FLAGS_records) <
          absl::GetFlag(FLAGS_replicas) * absl::GetFlag(FLAGS_batch_size)) {
    std::fprintf(stderr,
                 "order_bench: need 1 <= --replicas <= 8, --batches >= 1, "
                 "--runs >= 1, --stall_runs >= 1, --stall_batches >= 3 and "
                 "--records >= "
                 "--replicas * --batch_size\n");
    return 1;
  }
  return inputserve::bench::Main();
}
