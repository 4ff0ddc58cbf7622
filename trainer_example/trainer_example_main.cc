// trainer_example: trains a softmax classifier on batches from inputserve
// servers and reports examples/s, like the Keras ResNet benchmark it stands
// in for. main() only reads flags, builds the Client and runs the Trainer.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "inputserve/client.h"
#include "inputserve/options.h"
#include "trainer_example/trainer.h"
#include "trainer_example/trainer_options.h"
#ifdef INPUTSERVE_TRAINER_WITH_CUDA
#include "trainer_example/linear_model_gpu.h"
#endif

ABSL_FLAG(std::string, servers, "",
          "Comma-separated inputserve data servers, HOST:PORT[,HOST:PORT...] "
          "(also dns:///name:port); batches are read from all of them.");
ABSL_FLAG(int, steps, 100,
          "Training steps this run does (> 0); fewer when --num_epochs end "
          "first.");
ABSL_FLAG(int, num_gpus, 0,
          "Devices to split each global batch over. 0 = train on the CPU on "
          "one unsplit batch. N > 0 = N GPUs when built with CUDA and N GPUs "
          "are present (a CUDA kernel per GPU), else N host slices trained "
          "on the CPU; gradients are averaged on the host.");
ABSL_FLAG(int, log_every, 10, "Print a progress line every K steps.");
ABSL_FLAG(float, learning_rate, 0.05f, "SGD learning rate.");
ABSL_FLAG(int, num_classes, 0,
          "Classes of the softmax. 0 = what the servers report, or for "
          "servers that do not say, from the image size: 10 for 32x32 "
          "images (CIFAR-10), 1001 otherwise (ImageNet).");
ABSL_FLAG(int, feature_side, 32,
          "Images are average-pooled to at most this many pixels per side "
          "(224x224 -> 32x32) before the linear layer, so a step stays "
          "cheap on ImageNet-size images.");
ABSL_FLAG(int, prefetch_batches, 2, "Batches the client reads ahead.");
ABSL_FLAG(absl::Duration, unavailable_timeout, absl::Seconds(30),
          "Fail when no server delivered a batch for this long.");
ABSL_FLAG(std::string, consumer_id, "trainer_example",
          "Name reported to the servers.");
ABSL_FLAG(std::string, ordering, "arrival",
          "Data order. arrival: each batch goes to whichever stream asks "
          "first (fastest; never waits for a particular server). "
          "deterministic: the batch of step t is a pure function of the "
          "servers' flags and (--rank, --world_size, t), so a run resumes "
          "with --start_step and survives replica failover with nothing lost "
          "or repeated; a rank waits for its step's shard.");
ABSL_FLAG(int64_t, rank, 0,
          "deterministic: this trainer's data-parallel rank, 0..world_size-1.");
ABSL_FLAG(int64_t, world_size, 1,
          "deterministic: data-parallel trainers that split each epoch.");
ABSL_FLAG(int64_t, start_step, 0,
          "deterministic: the first step's number; resuming from a checkpoint "
          "taken after step k-1 needs only --start_step=k.");
ABSL_FLAG(int64_t, num_epochs, 0,
          "deterministic: epochs to read (0 = forever). A run that reaches "
          "the end stops early and exits 0.");
ABSL_FLAG(bool, drop_remainder, true,
          "deterministic: true (training) gives every rank the same number "
          "of full batches per epoch; false (evaluation) delivers every "
          "example exactly once, the last batches possibly short.");
ABSL_FLAG(std::string, digest_file, "",
          "Write one line per step to this file: <step> <epoch> <sha256 hex "
          "of the step's payload bytes, tensors in the server's order> "
          "<labels, comma-separated>. Two runs got the same data when their "
          "lines are equal.");

namespace {

int Fail(const std::string& message) {
  std::cerr << "trainer_example: error: " << message << std::endl;
  return 1;
}

// Creates the client, trains, prints the summary; the exit status.
int Train(const inputserve::trainer::TrainerOptions& options,
          inputserve::ClientOptions client_options) {
  namespace tr = inputserve::trainer;
  // The digest file first: a bad path is named before anything connects.
  std::unique_ptr<tr::StepDigestWriter> digest;
  if (!options.digest_file.empty()) {
    absl::StatusOr<std::unique_ptr<tr::StepDigestWriter>> opened =
        tr::StepDigestWriter::Open(options.digest_file);
    if (!opened.ok()) return Fail(std::string(opened.status().message()));
    digest = *std::move(opened);
  }
  absl::StatusOr<std::unique_ptr<inputserve::Client>> client =
      inputserve::Client::Create(std::move(client_options));
  if (!client.ok()) {
    return Fail("creating the client: " + client.status().ToString());
  }
  absl::StatusOr<std::unique_ptr<tr::Trainer>> trainer = tr::Trainer::Create(
      options, client->get(), &std::cout, std::move(digest));
  if (!trainer.ok()) return Fail(trainer.status().ToString());
  absl::StatusOr<tr::TrainSummary> summary = (*trainer)->Run();
  if (!summary.ok()) return Fail(summary.status().ToString());
  std::cout << tr::FormatSummaryLine(*summary) << std::endl;
  return EXIT_SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Trains a softmax/linear classifier (SGD, cross-entropy) on batches "
      "from inputserve servers.\nImages (uint8) are average-pooled to "
      "--feature_side, scaled to [0,1] and mean-subtracted (mean of the first "
      "batch).\nPrints a progress line every --log_every steps and ends "
      "with\n  SUMMARY steps=<n> examples_per_sec=<x> input_wait_pct=<x> "
      "bytes_received=<n> final_mode=<real|synthetic>\n(examples/s and input "
      "wait there cover steps 2..N: step 1 includes connecting.)\nUsage: "
      "trainer_example "
      "--servers=HOST:PORT[,HOST:PORT...] --steps=N --num_gpus=N\n"
      "Deterministic order (resume, evaluation, failover): "
      "--ordering=deterministic --rank=R --world_size=W [--start_step=K] "
      "[--num_epochs=E --drop_remainder=false] [--digest_file=F]");
  absl::ParseCommandLine(argc, argv);

  namespace tr = inputserve::trainer;
  absl::StatusOr<std::vector<std::string>> servers =
      tr::ParseServerList(absl::GetFlag(FLAGS_servers));
  if (!servers.ok()) return Fail(std::string(servers.status().message()));
  tr::TrainerOptions options;
  options.servers = *servers;
  options.steps = absl::GetFlag(FLAGS_steps);
  options.num_gpus = absl::GetFlag(FLAGS_num_gpus);
  options.log_every = absl::GetFlag(FLAGS_log_every);
  options.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  options.num_classes = absl::GetFlag(FLAGS_num_classes);
  options.feature_side = absl::GetFlag(FLAGS_feature_side);
  absl::StatusOr<inputserve::Ordering> ordering =
      tr::ParseOrdering(absl::GetFlag(FLAGS_ordering));
  if (!ordering.ok()) return Fail(std::string(ordering.status().message()));
  options.ordering = *ordering;
  options.rank = absl::GetFlag(FLAGS_rank);
  options.world_size = absl::GetFlag(FLAGS_world_size);
  options.start_step = absl::GetFlag(FLAGS_start_step);
  options.num_epochs = absl::GetFlag(FLAGS_num_epochs);
  options.drop_remainder = absl::GetFlag(FLAGS_drop_remainder);
  options.digest_file = absl::GetFlag(FLAGS_digest_file);
  if (absl::Status s = tr::ValidateTrainerOptions(options); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  const int prefetch = absl::GetFlag(FLAGS_prefetch_batches);
  if (prefetch < 1) {
    return Fail("--prefetch_batches must be >= 1, got " +
                std::to_string(prefetch));
  }

  // On GPUs the step runs on one stream per device, and the client orders
  // its copies against the same streams (events, no host waits).
  std::vector<void*> streams;
#ifdef INPUTSERVE_TRAINER_WITH_CUDA
  if (options.num_gpus > 0 && tr::gpu::DeviceCount() >= options.num_gpus) {
    if (std::string err = tr::gpu::CreateStreams(options.num_gpus, &streams);
        !err.empty()) {
      return Fail("creating the GPU streams: " + err);
    }
  }
#endif
  options.cuda_streams = streams;

  inputserve::ClientOptions client_options;
  client_options.targets = options.servers;
  client_options.cuda_streams = streams;
  client_options.num_devices = options.num_gpus;
  client_options.prefetch_batches = prefetch;
  client_options.consumer_id = absl::GetFlag(FLAGS_consumer_id);
  client_options.unavailable_timeout = absl::GetFlag(FLAGS_unavailable_timeout);
  client_options.ordering = options.ordering;
  client_options.rank = static_cast<uint32_t>(options.rank);
  client_options.world_size = static_cast<uint32_t>(options.world_size);
  client_options.start_step = static_cast<uint64_t>(options.start_step);
  client_options.num_epochs = static_cast<uint64_t>(options.num_epochs);
  client_options.drop_remainder = options.drop_remainder;
  const int status = Train(options, std::move(client_options));
#ifdef INPUTSERVE_TRAINER_WITH_CUDA
  // After the client and the trainer: nothing uses the streams any more.
  tr::gpu::DestroyStreams(streams);
#endif
  return status;
}
