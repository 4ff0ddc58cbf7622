// ServerOptions: every setting of inputserve-server, read once from flags in
// main() and validated here so nothing below main reads a flag.
#ifndef INPUTSERVE_SERVER_SERVER_OPTIONS_H_
#define INPUTSERVE_SERVER_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/codec/decoded_cache.h"
#include "server/mode_controller.h"
#include "server/sources/dataset.h"

namespace inputserve {

struct TlsFiles {
  std::string cert_file;       // PEM server certificate chain.
  std::string key_file;        // PEM private key.
  std::string client_ca_file;  // When set, clients must present a cert (mTLS).
  bool enabled() const { return !cert_file.empty(); }
};

struct ServerOptions {
  std::string listen = "0.0.0.0:50051";
  std::string admin_listen = "127.0.0.1:50052";  // Empty: no admin service.
  std::string metrics_listen = "0.0.0.0:9300";   // Empty: no /metrics.

  DatasetOptions dataset;  // spec, image_size, augment, shard, seed.
  int batch_size = 256;
  ServingMode initial_mode = ServingMode::kReal;
  int decode_threads = 0;  // 0: UsableCpuCount().
  int prefetch_batches = 4;
  int shuffle_buffer = 0;  // 0 or 1: no shuffling.
  int64_t chunk_bytes = 1 << 20;
  int max_streams = 64;
  // Bytes of JPEGs rewritten with restart markers kept across epochs; 0: off.
  int64_t jpeg_cache_bytes = int64_t{1} << 30;

  std::string admin_token_file;
  bool admin_insecure_no_auth = false;
  // When set, InputService calls need "authorization: Bearer <token>" with
  // the token in this file's first line (health and reflection stay open).
  std::string data_token_file;
  TlsFiles tls;
  std::string port_file;
  DecodedCacheOptions decoded_cache;  // Off unless decoded_cache.where is set.
  absl::Duration drain_timeout = absl::Seconds(8);
};

// Checks every field; the message names the flag and the allowed values.
absl::Status ValidateServerOptions(const ServerOptions& options);

// "real" / "synthetic" (also accepts MODE_REAL / MODE_SYNTHETIC).
absl::StatusOr<ServingMode> ParseServingMode(absl::string_view text);

// Splits "host:port" ("[v6]:port" too); port 0..65535. The flag name is used
// in error messages.
struct HostPort {
  std::string host;
  int port = 0;
};
absl::StatusOr<HostPort> ParseHostPort(absl::string_view flag,
                                       absl::string_view address);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SERVER_OPTIONS_H_
