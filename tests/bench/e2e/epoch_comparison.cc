#include "tests/bench/e2e/epoch_comparison.h"

#include <cstdio>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "tests/bench/bench_util.h"

namespace inputserve::bench {

absl::Status EpochComparison::Run(int run, const std::string& spec,
                                  const std::vector<std::string>& files) {
  INPUTSERVE_ASSIGN_OR_RETURN(
      EpochFigures plain, MeasureEpochs(spec, config_, records_, epochs_, {}));
  INPUTSERVE_ASSIGN_OR_RETURN(
      EpochFigures cached,
      MeasureEpochs(spec, config_, records_, epochs_, {"--decoded_cache=ram"}));
  // The same images through the DataLoader: it caches nothing, so its
  // epochs are alike; one warm-up batch as the servers' first batch.
  RunConfig loader_config = config_;
  loader_config.warmup = 1;
  loader_config.batches = records_ / config_.batch_size * epochs_ - 1;
  PeerFigures loader;
  if (with_loader_) {
    INPUTSERVE_ASSIGN_OR_RETURN(loader, MeasurePeer(files, loader_config));
  }
  plain_rate_.push_back(plain.all.images_per_sec);
  plain_cpu_.push_back(plain.all.server_cpu_per_image_ms);
  first_rate_.push_back(cached.first.images_per_sec);
  first_cpu_.push_back(cached.first.server_cpu_per_image_ms);
  later_rate_.push_back(cached.later.images_per_sec);
  later_cpu_.push_back(cached.later.server_cpu_per_image_ms);
  if (loader.images_per_sec > 0) {
    loader_rate_.push_back(loader.images_per_sec);
    loader_cpu_.push_back(loader.cpu_per_image_ms);
  }
  std::printf(
      "[%s] run %d, %d epochs: default %.1f img/s (server CPU %.2f ms/image); "
      "decoded cache epoch 1 %.1f img/s (%.2f), epochs >= 2 %.1f img/s "
      "(%.2f) [%s]; dataloader %.1f img/s (CPU %.2f ms/image)\n",
      set_.c_str(), run + 1, epochs_, plain.all.images_per_sec,
      plain.all.server_cpu_per_image_ms, cached.first.images_per_sec,
      cached.first.server_cpu_per_image_ms, cached.later.images_per_sec,
      cached.later.server_cpu_per_image_ms, cached.cache_metrics.c_str(),
      loader.images_per_sec, loader.cpu_per_image_ms);
  std::fflush(stdout);
  return absl::OkStatus();
}

std::vector<std::string> EpochComparison::Results(
    double entropy_floor_ms, const DecodedCacheFloor& cache_floor) const {
  std::vector<std::string> out;
  if (plain_rate_.empty()) return out;
  const double plain = Median(plain_rate_), later = Median(later_rate_);
  out.push_back(absl::StrFormat(
      "server CPU ms/image (median) photos=%s: default %.2f (entropy floor "
      "%.3f, %.2fx it); decoded cache epoch 1 %.2f (miss floor %.2f, %.2fx), "
      "epochs >= 2 %.2f (hit floor %.3f, %.2fx)",
      set_, Median(plain_cpu_), entropy_floor_ms,
      Median(plain_cpu_) / entropy_floor_ms, Median(first_cpu_),
      cache_floor.miss_ms, Median(first_cpu_) / cache_floor.miss_ms,
      Median(later_cpu_), cache_floor.hit_ms,
      Median(later_cpu_) / cache_floor.hit_ms));
  if (loader_rate_.empty()) {
    out.push_back(
        absl::StrFormat("RESULT epochs=%d default_images_per_sec=%.1f "
                        "decoded_cache_epoch1_images_per_sec=%.1f "
                        "decoded_cache_later_images_per_sec=%.1f "
                        "dataloader_images_per_sec=n/a photos=%s",
                        epochs_, plain, Median(first_rate_), later, set_));
    return out;
  }
  const double loader = Median(loader_rate_);
  out.push_back(absl::StrFormat(
      "CPU ms/image (median) photos=%s: dataloader %.2f; its ratio to the "
      "server's: default %.2fx, decoded cache epochs >= 2 %.2fx",
      set_, Median(loader_cpu_), Median(loader_cpu_) / Median(plain_cpu_),
      Median(loader_cpu_) / Median(later_cpu_)));
  out.push_back(
      absl::StrFormat("RESULT epochs=%d default_images_per_sec=%.1f "
                      "dataloader_images_per_sec=%.1f ratio=%.2f photos=%s",
                      epochs_, plain, loader, plain / loader, set_));
  out.push_back(absl::StrFormat(
      "RESULT epochs=%d decoded_cache_later_images_per_sec=%.1f "
      "decoded_cache_epoch1_images_per_sec=%.1f "
      "dataloader_images_per_sec=%.1f ratio=%.2f photos=%s",
      epochs_, later, Median(first_rate_), loader, later / loader, set_));
  return out;
}

}  // namespace inputserve::bench
