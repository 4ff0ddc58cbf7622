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
  return absl::OkStatus();
}

}  // namespace inputserve::trainer
