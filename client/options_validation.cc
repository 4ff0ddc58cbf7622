#include "client/options_validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace inputserve::client_internal {
namespace {

// Enough for any real host; catches garbage such as -1 cast to unsigned.
constexpr int kMaxDevices = 1024;
constexpr int kMaxPrefetch = 1024;
constexpr int kMaxConnections = 64;

}  // namespace

absl::Status ValidateOptions(const ClientOptions& options) {
  if (options.targets.empty()) {
    return absl::InvalidArgumentError(
        "ClientOptions.targets is empty; give at least one \"host:port\"");
  }
  for (size_t i = 0; i < options.targets.size(); ++i) {
    if (options.targets[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ClientOptions.targets[", i, "] is empty"));
    }
  }
  if (options.num_devices < 0 || options.num_devices > kMaxDevices) {
    return absl::InvalidArgumentError(
        absl::StrCat("ClientOptions.num_devices must be in [0, ", kMaxDevices,
                     "], got ", options.num_devices));
  }
  if (options.num_devices == 0 && options.device_kind == DeviceKind::kCuda) {
    return absl::InvalidArgumentError(
        "ClientOptions.device_kind is kCuda but num_devices is 0; kCuda needs "
        "num_devices >= 1");
  }
  if (options.prefetch_batches < 1 || options.prefetch_batches > kMaxPrefetch) {
    return absl::InvalidArgumentError(
        absl::StrCat("ClientOptions.prefetch_batches must be in [1, ",
                     kMaxPrefetch, "], got ", options.prefetch_batches));
  }
  if (options.connections_per_target < 1 ||
      options.connections_per_target > kMaxConnections) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ClientOptions.connections_per_target must be in [1, ", kMaxConnections,
        "], got ", options.connections_per_target));
  }
  if (options.consumer_id.size() > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("ClientOptions.consumer_id is at most 256 bytes, got ",
                     options.consumer_id.size()));
  }
  if (options.initial_backoff <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "ClientOptions.initial_backoff must be positive");
  }
  if (options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(
        "ClientOptions.max_backoff must be >= initial_backoff");
  }
  if (options.dns_refresh < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ClientOptions.dns_refresh must be >= 0 (0: never), got ",
                     absl::FormatDuration(options.dns_refresh)));
  }
  const struct {
    const char* name;
    absl::Duration value;
  } positive[] = {{"unavailable_timeout", options.unavailable_timeout},
                  {"connect_timeout", options.connect_timeout},
                  {"keepalive_time", options.keepalive_time},
                  {"keepalive_timeout", options.keepalive_timeout}};
  for (const auto& d : positive) {
    if (d.value <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ClientOptions.", d.name, " must be positive, got ",
                       absl::FormatDuration(d.value)));
    }
  }
  if (options.tls.enabled &&
      (options.tls.cert_file.empty() != options.tls.key_file.empty())) {
    return absl::InvalidArgumentError(
        "ClientOptions.tls.cert_file and tls.key_file must be given together "
        "(mTLS needs both)");
  }
  return ValidateOrderOptions(options);
}

absl::Status ValidateOrderOptions(const ClientOptions& options) {
  if (options.ordering != Ordering::kArrival &&
      options.ordering != Ordering::kDeterministic) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ClientOptions.ordering has unknown value ",
        static_cast<int>(options.ordering), " (kArrival or kDeterministic)"));
  }
  if (options.ordering == Ordering::kArrival) {
    // These only mean something for the deterministic order; a trainer that
    // sets them and forgets the ordering must hear about it.
    const ClientOptions defaults;
    const struct {
      const char* name;
      bool is_default;
    } fields[] = {
        {"rank", options.rank == defaults.rank},
        {"world_size", options.world_size == defaults.world_size},
        {"start_step", options.start_step == defaults.start_step},
        {"num_epochs", options.num_epochs == defaults.num_epochs},
        {"drop_remainder", options.drop_remainder == defaults.drop_remainder},
    };
    for (const auto& f : fields) {
      if (!f.is_default) {
        return absl::InvalidArgumentError(absl::StrCat(
            "ClientOptions.", f.name,
            " applies to the deterministic order only: set ordering to "
            "deterministic, or leave ",
            f.name, " at its default"));
      }
    }
    return absl::OkStatus();
  }
  if (options.world_size == 0) {
    return absl::InvalidArgumentError(
        "ClientOptions.world_size must be at least 1, got 0");
  }
  if (options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ClientOptions.rank ", options.rank, " is out of range for world_size ",
        options.world_size, " (0 <= rank < world_size)"));
  }
  return absl::OkStatus();
}

absl::Status CheckBatchDivisible(int batch_size, int num_devices) {
  if (num_devices <= 0 || batch_size % num_devices == 0) {
    return absl::OkStatus();
  }
  const int below = batch_size / num_devices * num_devices;
  const int above = below + num_devices;
  std::string nearest = below > 0 ? absl::StrFormat("%d or %d", below, above)
                                  : absl::StrFormat("%d", above);
  return absl::InvalidArgumentError(absl::StrFormat(
      "global batch size %d is not divisible by num_devices %d (each device "
      "must get an equal slice); nearest valid batch sizes: %s",
      batch_size, num_devices, nearest));
}

}  // namespace inputserve::client_internal
