#include "server/server_options.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/sources/shard_plan.h"

namespace inputserve {
namespace {

absl::Status CheckRange(absl::string_view flag, int64_t value, int64_t lo,
                        int64_t hi) {
  if (value < lo || value > hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "=", value, " is out of range: allowed ", lo, "..", hi));
  }
  return absl::OkStatus();
}

absl::Status CheckReadableFile(absl::string_view flag, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat("--", flag, ": '", path, "' does not exist"));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": '", path, "' is a directory, not a file"));
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("--", flag, ": '", path, "' is not readable"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServingMode> ParseServingMode(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "real" || lower == "mode_real") return ServingMode::kReal;
  if (lower == "synthetic" || lower == "mode_synthetic") {
    return ServingMode::kSynthetic;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "mode '", text, "' is not one of: real, synthetic"));
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view flag,
                                       absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "='", address, "' is not HOST:PORT (e.g. 0.0.0.0:50051)"));
  }
  HostPort hp;
  hp.host = std::string(address.substr(0, colon));
  if (hp.host.front() == '[' && hp.host.back() != ']') {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "='", address, "': unbalanced '[' in IPv6 address"));
  }
  if (!absl::SimpleAtoi(address.substr(colon + 1), &hp.port) || hp.port < 0 ||
      hp.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "='", address, "': port must be a number in 0..65535"));
  }
  for (char c : hp.host) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
          c == '-' || c == ':' || c == '[' || c == ']' || c == '_')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, "='", address, "': host has invalid characters"));
    }
  }
  return hp;
}

namespace {

// The three listen addresses, and the token files of the ports that use them.
absl::Status ValidateListenersAndTokens(const ServerOptions& o) {
  INPUTSERVE_RETURN_IF_ERROR(ParseHostPort("listen", o.listen).status());
  if (!o.admin_listen.empty()) {
    INPUTSERVE_RETURN_IF_ERROR(
        ParseHostPort("admin_listen", o.admin_listen).status());
    if (o.admin_token_file.empty() && !o.admin_insecure_no_auth) {
      return absl::InvalidArgumentError(
          "the admin service needs --admin_token_file (a file whose first "
          "line is the token); pass --admin_insecure_no_auth to run it "
          "without authentication, or --admin_listen= to disable it");
    }
    if (!o.admin_token_file.empty()) {
      INPUTSERVE_RETURN_IF_ERROR(
          CheckReadableFile("admin_token_file", o.admin_token_file));
    }
  }
  if (!o.data_token_file.empty()) {
    INPUTSERVE_RETURN_IF_ERROR(
        CheckReadableFile("data_token_file", o.data_token_file));
  }
  if (!o.metrics_listen.empty()) {
    INPUTSERVE_RETURN_IF_ERROR(
        ParseHostPort("metrics_listen", o.metrics_listen).status());
  }
  return absl::OkStatus();
}

// The dataset and every numeric flag's range.
absl::Status ValidateDatasetAndSizes(const ServerOptions& o) {
  if (o.dataset.spec.empty()) {
    return absl::InvalidArgumentError(
        "--dataset is required: cifar10:<dir|glob>, imagenet:<glob>, "
        "synthetic:cifar10 or synthetic:imagenet");
  }
  INPUTSERVE_RETURN_IF_ERROR(CheckRange("batch_size", o.batch_size, 1, 65536));
  INPUTSERVE_RETURN_IF_ERROR(
      CheckShardOptions(o.dataset.shard_index, o.dataset.num_shards));
  INPUTSERVE_RETURN_IF_ERROR(
      CheckRange("image_size", o.dataset.image_size, 8, 4096));
  INPUTSERVE_RETURN_IF_ERROR(
      CheckRange("decode_threads", o.decode_threads, 0, 1024));
  INPUTSERVE_RETURN_IF_ERROR(
      CheckRange("prefetch_batches", o.prefetch_batches, 1, 1024));
  INPUTSERVE_RETURN_IF_ERROR(
      CheckRange("shuffle_buffer", o.shuffle_buffer, 0, 10'000'000));
  INPUTSERVE_RETURN_IF_ERROR(
      CheckRange("chunk_bytes", o.chunk_bytes, 4096, int64_t{1} << 30));
  INPUTSERVE_RETURN_IF_ERROR(
      CheckRange("jpeg_cache_bytes", o.jpeg_cache_bytes, 0, int64_t{1} << 40));
  return CheckRange("max_streams", o.max_streams, 1, 100000);
}

// TLS flags come as a cert+key pair, the client CA only with them, and
// every file named must be readable.
absl::Status ValidateTls(const TlsFiles& tls) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file must be given together");
  }
  if (!tls.client_ca_file.empty() && !tls.enabled()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
  }
  for (const auto& [flag, path] :
       {std::pair<absl::string_view, const std::string&>{"tls_cert_file",
                                                         tls.cert_file},
        {"tls_key_file", tls.key_file},
        {"tls_client_ca_file", tls.client_ca_file}}) {
    if (path.empty()) continue;
    INPUTSERVE_RETURN_IF_ERROR(CheckReadableFile(flag, path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateServerOptions(const ServerOptions& o) {
  INPUTSERVE_RETURN_IF_ERROR(ValidateListenersAndTokens(o));
  INPUTSERVE_RETURN_IF_ERROR(ValidateDatasetAndSizes(o));
  INPUTSERVE_RETURN_IF_ERROR(ValidateTls(o.tls));
  INPUTSERVE_RETURN_IF_ERROR(ValidateDecodedCacheOptions(o.decoded_cache));
  if (o.drain_timeout < absl::ZeroDuration() ||
      o.drain_timeout > absl::Seconds(300)) {
    return absl::InvalidArgumentError(
        "--drain_timeout must be between 0s and 300s");
  }
  return absl::OkStatus();
}

}  // namespace inputserve
