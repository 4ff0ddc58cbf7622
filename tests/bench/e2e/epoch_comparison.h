// The multi-epoch figures of the end-to-end benchmark: for one image set,
// `epochs` whole epochs from a server with default flags, from one with
// --decoded_cache=ram (epoch 1 and epochs >= 2 apart), and as many images
// through the PyTorch DataLoader, measured one after the other in each run;
// then medians, ratios, and server CPU per image against the floor of each
// path. Used by one thread.
#ifndef INPUTSERVE_TESTS_BENCH_E2E_EPOCH_COMPARISON_H_
#define INPUTSERVE_TESTS_BENCH_E2E_EPOCH_COMPARISON_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/bench/e2e/decoded_cache_floor.h"
#include "tests/bench/e2e/runners.h"

namespace inputserve::bench {

class EpochComparison {
 public:
  // Without `with_loader` the DataLoader is skipped.
  EpochComparison(std::string set, int records, int epochs, RunConfig config,
                  bool with_loader)
      : set_(std::move(set)),
        records_(records),
        epochs_(epochs),
        config_(std::move(config)),
        with_loader_(with_loader) {}

  // One run over the TFRecord dataset `spec` (whose files are `files`, for
  // the DataLoader); prints its figures.
  absl::Status Run(int run, const std::string& spec,
                   const std::vector<std::string>& files);

  // Median figures as report lines, RESULT lines last. `entropy_floor_ms`
  // is the floor of the default path.
  std::vector<std::string> Results(double entropy_floor_ms,
                                   const DecodedCacheFloor& cache_floor) const;

 private:
  const std::string set_;
  const int records_;
  const int epochs_;
  const RunConfig config_;
  const bool with_loader_;
  // Per run.
  std::vector<double> plain_rate_, plain_cpu_;  // Default flags, all epochs.
  std::vector<double> first_rate_, first_cpu_;  // Decoded cache, epoch 1.
  std::vector<double> later_rate_, later_cpu_;  // Decoded cache, epochs >= 2.
  std::vector<double> loader_rate_, loader_cpu_;
};

}  // namespace inputserve::bench

#endif  // INPUTSERVE_TESTS_BENCH_E2E_EPOCH_COMPARISON_H_
