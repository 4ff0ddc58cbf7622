// The end-to-end benchmark's measurements, one per kind of consumer:
// inputserve-server pulled by the C++ client (a fixed window of batches, or
// whole epochs with epoch 1 timed apart from the rest), by the Python
// package's DataLoader(InputServeDataset), and the PyTorch DataLoader peer
// on the same TFRecords. Each starts and stops its own processes, one after
// the other, so they never share the cores. Functions only; not for
// concurrent use (they time the calling process's CPU).
#ifndef INPUTSERVE_TESTS_BENCH_E2E_RUNNERS_H_
#define INPUTSERVE_TESTS_BENCH_E2E_RUNNERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace inputserve::bench {

struct RunConfig {
  int batch_size = 256;
  int warmup = 3;          // Batches received before the clock starts.
  int batches = 12;        // Batches timed.
  int decode_threads = 0;  // Server --decode_threads; 0 = cores.
  int num_workers = 0;     // DataLoader num_workers; 0 = cores.
  std::string python = "/usr/bin/python3";
  std::vector<std::string> server_args;  // Extra inputserve-server flags.
};

int Cores();

struct ServeFigures {
  double images_per_sec = 0;  // -1: the consumer is not installed.
  double gbit_per_sec = 0;
  double server_cpu_per_image_ms = 0;
  double client_cpu_per_image_ms = 0;
};

// A server on the dataset `spec` (e.g. "imagenet:<glob>") pulled by the C++
// client: warm-up, then the timed batches.
absl::StatusOr<ServeFigures> MeasureInputserve(const std::string& spec,
                                               const RunConfig& config);

// The same through the build tree's Python package (DataLoader over
// InputServeDataset); images_per_sec -1 when the package or torch is missing.
absl::StatusOr<ServeFigures> MeasurePython(const std::string& spec,
                                           const RunConfig& config);

// `epochs` whole epochs of `records` records from a fresh server with
// `extra_args` (e.g. --decoded_cache=ram), clocked from the first batch's
// arrival (start-up excluded): all of them, epoch 1 alone, and epochs >= 2
// (from the arrival of epoch 1's last batch).
struct EpochFigures {
  ServeFigures all;
  ServeFigures first;
  ServeFigures later;
  std::string cache_metrics;  // "hits=.. misses=.. bytes=.." of /metrics.
};
absl::StatusOr<EpochFigures> MeasureEpochs(
    const std::string& spec, const RunConfig& config, int records, int epochs,
    const std::vector<std::string>& extra_args);

// The PyTorch DataLoader (tests/bench/peer/dataloader_peer.py) on the
// TFRecord `files`: images/s over config.batches after config.warmup, and
// CPU ms per image (main process and workers).
struct PeerFigures {
  double images_per_sec = -1;  // -1: torch is not installed.
  double cpu_per_image_ms = 0;
};
absl::StatusOr<PeerFigures> MeasurePeer(const std::vector<std::string>& files,
                                        const RunConfig& config);

}  // namespace inputserve::bench

#endif  // INPUTSERVE_TESTS_BENCH_E2E_RUNNERS_H_
