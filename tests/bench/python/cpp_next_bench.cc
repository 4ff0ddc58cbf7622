// The C++ side of the Python overhead benchmark: the cost of one Next() and
// one NextShared() on a server in synthetic mode (the cached batch, no
// network), so python_overhead_bench.py can subtract it from Python's next().
//   cpp_next_bench --target=HOST:PORT [--calls=200000]
// Prints: CPP next_ns=<x> next_shared_ns=<y>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "inputserve/client.h"

ABSL_FLAG(std::string, target, "", "Server address (synthetic mode)");
ABSL_FLAG(int, calls, 200000, "Timed calls of each kind");

namespace {

template <typename Fn>
double NanosPerCall(int calls, Fn fn) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) fn();
  return std::chrono::duration<double, std::nano>(
             std::chrono::steady_clock::now() - start)
             .count() /
         calls;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  inputserve::ClientOptions options;
  options.targets = {absl::GetFlag(FLAGS_target)};
  auto client = inputserve::Client::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "cpp_next_bench: %s\n",
                 client.status().ToString().c_str());
    return 1;
  }
  auto first = (*client)->Next();
  if (!first.ok() || (*first)->mode != inputserve::BatchMode::kSynthetic) {
    std::fprintf(stderr, "cpp_next_bench: the server is not in synthetic "
                         "mode\n");
    return 1;
  }
  const int calls = absl::GetFlag(FLAGS_calls);
  bool ok = true;
  const double next_ns = NanosPerCall(calls, [&] {
    ok = ok && (*client)->Next().ok();
  });
  const double shared_ns = NanosPerCall(calls, [&] {
    ok = ok && (*client)->NextShared().ok();
  });
  if (!ok) {
    std::fprintf(stderr, "cpp_next_bench: a call failed\n");
    return 1;
  }
  std::printf("CPP next_ns=%.1f next_shared_ns=%.1f\n", next_ns, shared_ns);
  return 0;
}
