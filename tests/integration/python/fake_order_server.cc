// A stand-in server for the Python tests of the deterministic order: the
// in-process fake of the client unit tests, serving one shard, in a process
// of its own. Contents are a function of (shard, epoch, batch index): label
// of example e of batch i of epoch p on shard s = s * 1e8 + (p * 1000 + i) *
// 100 + e.
//   fake_order_server --shard_index=S --num_shards=N --examples=E
//       --batch_size=B --port_file=F
// Writes its port to F once it serves, then runs until SIGTERM or SIGINT.
#include <csignal>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "tests/unit/client/fake_input_server.h"

ABSL_FLAG(uint32_t, shard_index, 0, "Shard this server serves");
ABSL_FLAG(uint32_t, num_shards, 1, "Shards of the dataset");
ABSL_FLAG(uint64_t, examples, 80, "Examples of this shard per epoch");
ABSL_FLAG(int, batch_size, 8, "Examples per batch (< 100)");
ABSL_FLAG(std::string, port_file, "", "Where to write the port");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Blocked before any thread starts, so only sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  inputserve::testing::FakeServerOptions options;
  options.deterministic = true;
  options.shard_index = absl::GetFlag(FLAGS_shard_index);
  options.num_shards = absl::GetFlag(FLAGS_num_shards);
  options.examples_per_epoch = absl::GetFlag(FLAGS_examples);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.chunk_bytes = 4096;
  if (options.batch_size < 1 || options.batch_size >= 100 ||
      options.shard_index >= options.num_shards) {
    std::cerr << "fake_order_server: need 1 <= batch_size < 100 and "
                 "shard_index < num_shards\n";
    return 2;
  }
  auto server = inputserve::testing::FakeInputServer::Start(options);
  if (server == nullptr) {
    std::cerr << "fake_order_server: cannot listen\n";
    return 1;
  }
  const std::string path = absl::GetFlag(FLAGS_port_file);
  {
    // Written under another name and renamed: readers never see half a file.
    std::ofstream out(path + ".tmp");
    out << server->port() << "\n";
  }
  if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
    std::cerr << "fake_order_server: cannot write " << path << "\n";
    return 1;
  }
  int signal = 0;
  sigwait(&stop, &signal);
  server->Shutdown();
  return 0;
}
