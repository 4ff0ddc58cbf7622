// Writes what the C++ client returns, so the Python tests can compare the
// Python client's arrays with it byte for byte:
//   dump_batches --target=HOST:PORT --batches=N --out=FILE
// FILE gets, per batch, every tensor's bytes in the server's order.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "inputserve/client.h"

ABSL_FLAG(std::string, target, "", "Server address");
ABSL_FLAG(int, batches, 1, "Batches to write");
ABSL_FLAG(std::string, out, "", "Output file");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  inputserve::ClientOptions options;
  options.targets = {absl::GetFlag(FLAGS_target)};
  options.prefetch_batches = 1;
  absl::StatusOr<std::unique_ptr<inputserve::Client>> client =
      inputserve::Client::Create(options);
  if (!client.ok()) {
    std::cerr << "dump_batches: " << client.status() << "\n";
    return 1;
  }
  std::ofstream out(absl::GetFlag(FLAGS_out), std::ios::binary);
  for (int i = 0; i < absl::GetFlag(FLAGS_batches); ++i) {
    absl::StatusOr<const inputserve::Batch*> batch = (*client)->Next();
    if (!batch.ok()) {
      std::cerr << "dump_batches: " << batch.status() << "\n";
      return 1;
    }
    for (const inputserve::TensorView& t : (*batch)->devices[0].tensors) {
      out.write(static_cast<const char*>(t.data),
                static_cast<std::streamsize>(t.num_bytes));
    }
  }
  out.close();
  return out ? 0 : 1;
}
