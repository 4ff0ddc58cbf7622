#include "python/src/client_options.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "pybind11/stl.h"
#include "python/src/status_error.h"

namespace py = pybind11;

namespace inputserve::python {
namespace {

constexpr int64_t kMaxU32 = std::numeric_limits<uint32_t>::max();
constexpr int64_t kMaxI64 = std::numeric_limits<int64_t>::max();

[[noreturn]] void Invalid(const std::string& key, const std::string& what) {
  throw StatusError(absl::InvalidArgumentError(absl::StrCat(key, ": ", what)));
}

template <typename T>
T As(const std::string& key, const py::handle& value, const char* type) {
  try {
    return value.cast<T>();
  } catch (const py::cast_error&) {
    Invalid(key, absl::StrCat("expected ", type, ", got ",
                              std::string(py::str(value.get_type().attr(
                                  "__name__")))));
  }
}

absl::Duration Seconds(const std::string& key, const py::handle& value) {
  const double s = As<double>(key, value, "seconds as a number");
  if (!(s > 0) || !std::isfinite(s)) {
    Invalid(key, absl::StrCat("must be a positive number of seconds, got ", s));
  }
  return absl::Seconds(s);
}

std::vector<std::string> Targets(const py::handle& value) {
  if (py::isinstance<py::str>(value)) {
    return {value.cast<std::string>()};
  }
  return As<std::vector<std::string>>("targets", value,
                                      "a str or a list of str");
}

TlsOptions Tls(const py::handle& value) {
  TlsOptions tls;
  if (value.is_none()) return tls;
  if (py::isinstance<py::bool_>(value)) {
    tls.enabled = value.cast<bool>();
    return tls;
  }
  if (!py::isinstance<py::dict>(value)) {
    Invalid("tls", "expected None, True or a dict with ca_file, cert_file, "
                   "key_file");
  }
  tls.enabled = true;
  for (const auto& [k, v] : value.cast<py::dict>()) {
    const std::string key = k.cast<std::string>();
    const std::string file = As<std::string>("tls." + key, v, "str");
    if (key == "ca_file") {
      tls.ca_file = file;
    } else if (key == "cert_file") {
      tls.cert_file = file;
    } else if (key == "key_file") {
      tls.key_file = file;
    } else {
      Invalid("tls", absl::StrCat("unknown key '", key,
                                  "' (ca_file, cert_file, key_file)"));
    }
  }
  return tls;
}

// A Python int in [min, max] (an int of another range would wrap).
int64_t Count(const std::string& key, const py::handle& value, int64_t min,
              int64_t max) {
  if (py::isinstance<py::bool_>(value)) Invalid(key, "expected int, got bool");
  const int64_t n = As<int64_t>(key, value, "int");
  if (n < min || n > max) {
    Invalid(key, absl::StrCat("must be in [", min, ", ", max, "], got ", n));
  }
  return n;
}

Ordering Order(const py::handle& value) {
  const std::string order = As<std::string>("ordering", value, "str");
  if (order == "arrival") return Ordering::kArrival;
  if (order == "deterministic") return Ordering::kDeterministic;
  Invalid("ordering",
          absl::StrCat("'", order, "' is not arrival or deterministic"));
}

DeviceKind Device(const py::handle& value) {
  const std::string kind = As<std::string>("device", value, "str");
  if (kind == "auto") return DeviceKind::kAuto;
  if (kind == "host") return DeviceKind::kHost;
  if (kind == "cuda") return DeviceKind::kCuda;
  Invalid("device", absl::StrCat("'", kind, "' is not auto, host or cuda"));
}

}  // namespace

ClientOptions ParseClientOptions(const py::dict& options) {
  ClientOptions o;
  for (const auto& [k, value] : options) {
    const std::string key = k.cast<std::string>();
    if (key == "targets") {
      o.targets = Targets(value);
    } else if (key == "num_devices") {
      o.num_devices = As<int>(key, value, "int");
    } else if (key == "prefetch") {
      o.prefetch_batches = As<int>(key, value, "int");
    } else if (key == "consumer_id") {
      o.consumer_id = As<std::string>(key, value, "str");
    } else if (key == "tls") {
      o.tls = Tls(value);
    } else if (key == "device") {
      o.device_kind = Device(value);
    } else if (key == "connections_per_target") {
      o.connections_per_target = As<int>(key, value, "int");
    } else if (key == "connect_timeout") {
      o.connect_timeout = Seconds(key, value);
    } else if (key == "unavailable_timeout") {
      o.unavailable_timeout = Seconds(key, value);
    } else if (key == "initial_backoff") {
      o.initial_backoff = Seconds(key, value);
    } else if (key == "max_backoff") {
      o.max_backoff = Seconds(key, value);
    } else if (key == "dns_refresh") {
      const double s = As<double>(key, value, "seconds as a number");
      o.dns_refresh = s <= 0 ? absl::ZeroDuration() : absl::Seconds(s);
    } else if (key == "cache_synthetic") {
      o.cache_synthetic = As<bool>(key, value, "bool");
    } else if (key == "ordering") {
      o.ordering = Order(value);
    } else if (key == "rank") {
      o.rank = static_cast<uint32_t>(Count(key, value, 0, kMaxU32));
    } else if (key == "world_size") {
      o.world_size = static_cast<uint32_t>(Count(key, value, 1, kMaxU32));
    } else if (key == "start_step") {
      o.start_step = static_cast<uint64_t>(Count(key, value, 0, kMaxI64));
    } else if (key == "num_epochs") {
      o.num_epochs = static_cast<uint64_t>(Count(key, value, 0, kMaxI64));
    } else if (key == "drop_remainder") {
      o.drop_remainder = As<bool>(key, value, "bool");
    } else {
      Invalid(key, "unknown client option");
    }
  }
  return o;
}

}  // namespace inputserve::python
