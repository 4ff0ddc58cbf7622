#include "trainer_example/trainer_options.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace inputserve::trainer {

absl::StatusOr<std::vector<std::string>> ParseServerList(
    absl::string_view servers) {
  std::vector<std::string> targets;
  if (absl::StripAsciiWhitespace(servers).empty()) {
    return absl::InvalidArgumentError(
        "--servers is empty: give HOST:PORT[,HOST:PORT...]");
  }
  for (absl::string_view entry : absl::StrSplit(servers, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--servers=", servers, " has an empty entry (stray comma?)"));
    }
    // "unix:" targets have no port; every other form ends in ":PORT".
    const size_t colon = entry.rfind(':');
    if (!absl::StartsWith(entry, "unix:") &&
        (colon == absl::string_view::npos || colon + 1 == entry.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--servers entry '", entry, "' has no port: expected HOST:PORT"));
    }
    targets.emplace_back(entry);
  }
  return targets;
}

absl::StatusOr<Ordering> ParseOrdering(absl::string_view ordering) {
  if (ordering == "arrival") return Ordering::kArrival;
  if (ordering == "deterministic") return Ordering::kDeterministic;
  return absl::InvalidArgumentError(absl::StrCat(
      "--ordering must be arrival or deterministic, got '", ordering, "'"));
}

namespace {

// The data-order flags: ranges, and the ones only a deterministic order has.
absl::Status ValidateOrderFlags(const TrainerOptions& options) {
  if (options.world_size < 1 || options.world_size > int64_t{UINT32_MAX}) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--world_size must be in [1, 4294967295], got ", options.world_size));
  }
  if (options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rank must be in [0, --world_size) = [0, ",
                     options.world_size, "), got ", options.rank));
  }
  if (options.start_step < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--start_step must be >= 0, got ", options.start_step));
  }
  if (options.num_epochs < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--num_epochs must be >= 0 (0 = forever), got ", options.num_epochs));
  }
  if (options.ordering == Ordering::kArrival) {
    const char* flag = options.rank != 0         ? "--rank"
                       : options.world_size != 1 ? "--world_size"
                       : options.start_step != 0 ? "--start_step"
                       : options.num_epochs != 0 ? "--num_epochs"
                                                 : nullptr;
    if (flag != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag,
                       " needs --ordering=deterministic (arrival order has no "
                       "ranks, steps or epochs to plan)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTrainerOptions(const TrainerOptions& options) {
  if (options.servers.empty()) {
    return absl::InvalidArgumentError(
        "--servers is empty: give HOST:PORT[,HOST:PORT...]");
  }
  if (options.steps <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--steps must be > 0, got ", options.steps));
  }
  if (options.num_gpus < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--num_gpus must be >= 0 (0 = CPU), got ", options.num_gpus));
  }
  if (options.log_every <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log_every must be > 0, got ", options.log_every));
  }
  if (!std::isfinite(options.learning_rate) || options.learning_rate <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--learning_rate must be a finite number > 0, got ",
                     options.learning_rate));
  }
  if (options.num_classes < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--num_classes must be >= 0 (0 = from the image size), got ",
        options.num_classes));
  }
  if (options.feature_side <= 0 || options.feature_side > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--feature_side must be in [1, 1024], got ", options.feature_side));
  }
  return ValidateOrderFlags(options);
}

}  // namespace inputserve::trainer
