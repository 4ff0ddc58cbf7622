// libFuzzer target: server option validation. The input is one field per
// line: listen, admin_listen, metrics_listen, mode, dataset spec, then
// batch_size, num_shards, shard_index, image_size, decode_threads,
// prefetch_batches, shuffle_buffer, chunk_bytes, max_streams, and the names
// of the token/TLS files (made relative to the fuzzer's scratch directory,
// so validation only ever looks at files there).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "server/server_options.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

template <typename T>
void SetInt(const std::vector<std::string>& lines, size_t i, T* out) {
  int64_t v = 0;
  if (i < lines.size() && absl::SimpleAtoi(lines[i], &v)) {
    *out = static_cast<T>(v);
  }
}

std::string Line(const std::vector<std::string>& lines, size_t i,
                 const std::string& fallback) {
  return i < lines.size() ? lines[i] : fallback;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inputserve;
  const std::vector<std::string> lines = absl::StrSplit(
      absl::string_view(reinterpret_cast<const char*>(data), size), '\n');
  for (const std::string& line : lines) {
    absl::StatusOr<HostPort> hp = ParseHostPort("listen", line);
    if (hp.ok()) {
      fuzz::Check(hp->port >= 0 && hp->port <= 65535, "port out of range");
      fuzz::Check(!hp->host.empty(), "empty host accepted");
    } else {
      fuzz::Check(absl::StrContains(hp.status().message(), "--listen"),
                  "ParseHostPort error does not name the flag");
    }
    (void)ParseServingMode(line);
  }
  static const bool scratch_ready = [] {
    fuzz::WriteFileOrAbort(fuzz::ScratchDir() + "/token", "secret\n");
    return true;
  }();
  (void)scratch_ready;
  ServerOptions o;
  o.listen = Line(lines, 0, o.listen);
  o.admin_listen = Line(lines, 1, o.admin_listen);
  o.metrics_listen = Line(lines, 2, o.metrics_listen);
  if (absl::StatusOr<ServingMode> m = ParseServingMode(Line(lines, 3, "real"));
      m.ok()) {
    o.initial_mode = *m;
  }
  o.dataset.spec = Line(lines, 4, "synthetic:cifar10");
  SetInt(lines, 5, &o.batch_size);
  SetInt(lines, 6, &o.dataset.num_shards);
  SetInt(lines, 7, &o.dataset.shard_index);
  SetInt(lines, 8, &o.dataset.image_size);
  SetInt(lines, 9, &o.decode_threads);
  SetInt(lines, 10, &o.prefetch_batches);
  SetInt(lines, 11, &o.shuffle_buffer);
  SetInt(lines, 12, &o.chunk_bytes);
  SetInt(lines, 13, &o.max_streams);
  for (auto [i, field] :
       {std::pair<size_t, std::string*>{14, &o.admin_token_file},
        {15, &o.tls.cert_file},
        {16, &o.tls.key_file},
        {17, &o.tls.client_ca_file}}) {
    if (i < lines.size() && !absl::StrContains(lines[i], "..")) {
      *field = fuzz::ScratchDir() + "/" + lines[i];
    }
  }
  o.admin_insecure_no_auth = o.admin_token_file.empty() && size % 2 == 0;
  absl::Status s = ValidateServerOptions(o);
  if (!s.ok()) {
    fuzz::Check(absl::StrContains(s.message(), "--") ||
                    absl::StrContains(s.message(), "dataset"),
                "validation error does not name a flag");
    return 0;
  }
  fuzz::Check(o.batch_size >= 1 && o.dataset.num_shards >= 1 &&
                  o.dataset.shard_index < o.dataset.num_shards,
              "impossible options validated");
  return 0;
}
