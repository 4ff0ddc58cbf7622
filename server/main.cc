// inputserve-server: flags -> ServerOptions -> Server; waits for SIGTERM or
// SIGINT, then drains and exits 0.
#include <signal.h>

#if defined(__SANITIZE_ADDRESS__)
#define INPUTSERVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define INPUTSERVE_LSAN 1
#endif
#endif
#ifndef INPUTSERVE_LSAN
#define INPUTSERVE_LSAN 0
#endif
#if INPUTSERVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "server/flags_help.h"
#include "server/log.h"
#include "server/server.h"
#include "server/server_options.h"
#include "server/sources/shard_plan.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051",
          "Data port (InputService, health, reflection), HOST:PORT. Port 0 "
          "picks a free port (see --port_file).");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:50052",
          "Admin port (AdminService), HOST:PORT; empty disables the admin "
          "service. Keep it on loopback or a private network.");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9300",
          "Prometheus /metrics HTTP endpoint, HOST:PORT; empty disables it.");
ABSL_FLAG(std::string, dataset, "",
          "What to serve: cifar10:<dir|glob> (CIFAR-10 binary records), "
          "imagenet:<glob> (TFRecord files of tf.train.Example with JPEG "
          "image/encoded and image/class/label), imagefolder:<root> "
          "(torchvision ImageFolder tree: root/<class>/**/*.jpg|jpeg|png, "
          "label = index of the class in sorted order), webdataset:<glob> "
          "(tar shards of <key>.jpg|jpeg|png + <key>.cls), synthetic:cifar10 "
          "or synthetic:imagenet (seeded random tensors, no files). "
          "Required.");
ABSL_FLAG(int, batch_size, 256, "Examples per batch (1..65536).");
ABSL_FLAG(std::string, mode, "real",
          "Initial serving mode: real (fresh batches from the pipeline) or "
          "synthetic (the first batch, cached, served to every stream).");
ABSL_FLAG(int, shard_index, 0, "This replica's shard, 0..num_shards-1.");
ABSL_FLAG(int, num_shards, 1,
          "Replicas that split the dataset; together they cover every "
          "example once per epoch.");
ABSL_FLAG(int, decode_threads, 0,
          "Decode worker threads; 0 = one per CPU this process may use: the "
          "CPU affinity mask, capped by the cgroup CPU quota rounded up "
          "(docker --cpus=4 gives 4).");
ABSL_FLAG(int, prefetch_batches, 4,
          "Batches built ahead and queued for streams (1..1024).");
ABSL_FLAG(int, shuffle_buffer, 0,
          "Records in the shuffle buffer; above 1 also reshuffles the file "
          "order every epoch. 0 or 1 serves the dataset in file order.");
ABSL_FLAG(uint64_t, seed, 0,
          "Seed for shuffling, augmentation and synthetic data; output is "
          "deterministic for a fixed seed.");
ABSL_FLAG(int, image_size, 224, "imagenet: output height and width.");
ABSL_FLAG(bool, augment, true,
          "Training augmentation (random crop + flip); false gives the "
          "evaluation preprocessing.");
ABSL_FLAG(int64_t, chunk_bytes, 1 << 20,
          "Largest payload slice per BatchChunk message (4096..1 GiB).");
ABSL_FLAG(int64_t, jpeg_cache_bytes, int64_t{1} << 30,
          "Bytes of memory (0..1 TiB) for JPEGs rewritten with restart "
          "markers on first read, so later epochs decode only each crop's "
          "restart intervals; once full, further records decode the "
          "ordinary way. 0 turns the cache off.");
ABSL_FLAG(int, max_streams, 64,
          "Concurrent StreamBatches calls; more get RESOURCE_EXHAUSTED.");
ABSL_FLAG(std::string, admin_token_file, "",
          "File whose first line is the admin bearer token; re-read within "
          "a second when it changes (rotation needs no restart). Required "
          "when the admin service is enabled (unless "
          "--admin_insecure_no_auth).");
ABSL_FLAG(std::string, data_token_file, "",
          "File whose first line is a bearer token that InputService calls "
          "(GetDatasetInfo, StreamBatches, WatchMode) must carry; empty: no "
          "token. Re-read like --admin_token_file. Health and reflection "
          "stay open for probes.");
ABSL_FLAG(bool, admin_insecure_no_auth, false,
          "Run the admin service without authentication (tests only).");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain; with --tls_key_file enables TLS on the data "
          "and admin ports.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for TLS.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle; when set, clients must present a certificate it "
          "signed (mutual TLS).");
ABSL_FLAG(std::string, decoded_cache, "",
          "Keep each image decoded once, its shorter side reduced to "
          "--image_size x --decoded_cache_margin (never upscaled), and run "
          "later epochs' random-resized-crop from those pixels instead of "
          "decoding the JPEG again. \"ram\": in memory, up to "
          "--decoded_cache_bytes; a directory: also a spill file there "
          "(mmap, up to --decoded_cache_spill_bytes, deleted on exit) once "
          "the RAM share is full. Empty (default): off. A full cache keeps "
          "what it holds; other records take the normal path.");
ABSL_FLAG(int64_t, decoded_cache_bytes, int64_t{2} << 30,
          "RAM for --decoded_cache, in bytes of pixels.");
ABSL_FLAG(int64_t, decoded_cache_spill_bytes, int64_t{32} << 30,
          "Largest spill file for --decoded_cache=<dir>, in bytes.");
ABSL_FLAG(double, decoded_cache_margin, 1.25,
          "--decoded_cache keeps the shorter side at --image_size x this "
          "(1..8); larger keeps more detail for small crops, costs more "
          "memory.");
ABSL_FLAG(std::string, port_file, "",
          "Once listening, write the bound ports here as JSON: "
          "{\"data\": P, \"admin\": P, \"metrics\": P} (0 = disabled).");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(8),
          "On SIGTERM, how long open streams get to finish their batch; "
          "then they are cancelled and the process exits about 0.5s later. "
          "Keep it below 9.5s to exit within 10s.");

namespace inputserve {
namespace {

// Ends the process once Server::Shutdown has drained and stopped everything,
// without running destructors: gRPC's clean-up in the last grpc::Server's
// destructor can wait up to 10 s for connections clients still hold open.
[[noreturn]] void ExitAfterShutdown() {
  std::fflush(nullptr);
#if INPUTSERVE_LSAN
  // _Exit skips LeakSanitizer's exit-time check: run it here.
  __lsan_do_leak_check();
#endif
  std::_Exit(0);
}

absl::StatusOr<ServerOptions> OptionsFromFlags() {
  ServerOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.admin_listen = absl::GetFlag(FLAGS_admin_listen);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  o.dataset.spec = absl::GetFlag(FLAGS_dataset);
  o.dataset.image_size = absl::GetFlag(FLAGS_image_size);
  o.dataset.augment = absl::GetFlag(FLAGS_augment);
  o.dataset.seed = absl::GetFlag(FLAGS_seed);
  const int shard_index = absl::GetFlag(FLAGS_shard_index);
  const int num_shards = absl::GetFlag(FLAGS_num_shards);
  // Checked before the unsigned conversion, so -1 is reported as -1.
  INPUTSERVE_RETURN_IF_ERROR(CheckShardOptions(shard_index, num_shards));
  o.dataset.shard_index = static_cast<uint32_t>(shard_index);
  o.dataset.num_shards = static_cast<uint32_t>(num_shards);
  o.batch_size = absl::GetFlag(FLAGS_batch_size);
  absl::StatusOr<ServingMode> mode = ParseServingMode(absl::GetFlag(FLAGS_mode));
  if (!mode.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--mode: ", mode.status().message()));
  }
  o.initial_mode = *mode;
  o.decode_threads = absl::GetFlag(FLAGS_decode_threads);
  o.prefetch_batches = absl::GetFlag(FLAGS_prefetch_batches);
  o.shuffle_buffer = absl::GetFlag(FLAGS_shuffle_buffer);
  o.chunk_bytes = absl::GetFlag(FLAGS_chunk_bytes);
  o.max_streams = absl::GetFlag(FLAGS_max_streams);
  o.jpeg_cache_bytes = absl::GetFlag(FLAGS_jpeg_cache_bytes);
  o.admin_token_file = absl::GetFlag(FLAGS_admin_token_file);
  o.admin_insecure_no_auth = absl::GetFlag(FLAGS_admin_insecure_no_auth);
  o.data_token_file = absl::GetFlag(FLAGS_data_token_file);
  o.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  o.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  o.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  o.decoded_cache.where = absl::GetFlag(FLAGS_decoded_cache);
  o.decoded_cache.ram_bytes = absl::GetFlag(FLAGS_decoded_cache_bytes);
  o.decoded_cache.spill_bytes = absl::GetFlag(FLAGS_decoded_cache_spill_bytes);
  o.decoded_cache.margin = absl::GetFlag(FLAGS_decoded_cache_margin);
  o.port_file = absl::GetFlag(FLAGS_port_file);
  o.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  INPUTSERVE_RETURN_IF_ERROR(ValidateServerOptions(o));
  return o;
}

int Run(int argc, char** argv) {
  HelpListsFlagsOf("server/main.cc");
  absl::SetProgramUsageMessage(
      "Serves decoded training batches (or one cached synthetic batch) over "
      "gRPC.\n\nExample:\n  inputserve-server --dataset=cifar10:/data/cifar "
      "--batch_size=128 --admin_token_file=/etc/inputserve/token\n\n--helpfull "
      "also lists gRPC and Abseil flags.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "inputserve-server: error: unexpected argument '%s' "
                 "(flags are --name=value)\n", positional[1]);
    return 2;
  }
  // Signals are taken by sigwait below; block them before any thread starts
  // so no other thread receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A peer that disappears must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  // Debian's Abseil keeps absl::Mutex deadlock detection on (a debug aid);
  // it cost ~2% of the streaming path's instructions in callgrind.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  absl::StatusOr<ServerOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    std::fprintf(stderr, "inputserve-server: error: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  const std::string port_file = options->port_file;
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Create(*std::move(options));
  if (!server.ok()) {
    std::fprintf(stderr, "inputserve-server: error: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  if (!port_file.empty()) {
    if (absl::Status s = WriteFileAtomically(port_file, (*server)->PortsJson());
        !s.ok()) {
      std::fprintf(stderr, "inputserve-server: error: --port_file: %s\n",
                   std::string(s.message()).c_str());
      return 1;
    }
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
          ": draining");
  (*server)->Shutdown();
  LogInfo("stopped");
  ExitAfterShutdown();
}

}  // namespace
}  // namespace inputserve

int main(int argc, char** argv) { return inputserve::Run(argc, argv); }
