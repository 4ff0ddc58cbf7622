#include "tests/integration/faults/replica_set.h"

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "inputserve/v1/input_service.grpc.pb.h"

namespace inputserve::testing {
namespace {

constexpr size_t kPlane = 32 * 32;
constexpr size_t kImageBytes = 3 * kPlane;
constexpr size_t kRecordBytes = 1 + kImageBytes;

}  // namespace

uint64_t HashBytes(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

absl::StatusOr<CifarDataset> GenerateCifar(int num_examples, uint64_t seed) {
  CifarDataset dataset;
  dataset.dir = MakeTempDir("faults-cifar");
  CommandResult gen = RunCommand({BinPath("inputserve-datagen"),
                                  "--format=cifar10", "--out=" + dataset.dir,
                                  absl::StrCat("--num_examples=", num_examples),
                                  absl::StrCat("--seed=", seed)});
  if (gen.exit_code != 0) {
    return absl::InternalError(absl::StrCat("datagen: ", gen.output));
  }
  // datagen writes data_batch_1.bin .. data_batch_5.bin; the server reads a
  // directory in name order, which is this order.
  std::vector<uint8_t> nhwc(kImageBytes);
  for (int f = 1; f <= 5; ++f) {
    const std::string path =
        absl::StrCat(dataset.dir, "/data_batch_", f, ".bin");
    INPUTSERVE_ASSIGN_OR_RETURN(const std::string bytes, ReadWholeFile(path));
    if (bytes.size() % kRecordBytes != 0) {
      return absl::DataLossError(absl::StrCat(path, ": partial record"));
    }
    for (size_t r = 0; r < bytes.size() / kRecordBytes; ++r) {
      const char* image = bytes.data() + r * kRecordBytes + 1;
      for (size_t p = 0; p < kPlane; ++p) {
        for (size_t c = 0; c < 3; ++c) {
          nhwc[3 * p + c] = static_cast<uint8_t>(image[c * kPlane + p]);
        }
      }
      dataset.image_hashes.push_back(HashBytes(nhwc.data(), nhwc.size()));
    }
  }
  return dataset;
}

BatchRecord Record(const Batch& batch) {
  BatchRecord record;
  record.source = batch.source;
  record.sequence = batch.sequence;
  record.epoch = batch.epoch;
  if (batch.devices.size() != 1) return record;
  const TensorView* image = batch.devices[0].Find("image");
  if (image == nullptr || image->shape.size() != 4) return record;
  const size_t per_image =
      image->num_bytes / static_cast<size_t>(image->shape[0]);
  const auto* data = static_cast<const uint8_t*>(image->data);
  for (int64_t i = 0; i < image->shape[0]; ++i) {
    record.image_hashes.push_back(HashBytes(data + i * per_image, per_image));
  }
  return record;
}

ReplicaSet::ReplicaSet(std::string dataset_dir, int num_replicas,
                       std::vector<std::string> extra_args)
    : dataset_dir_(std::move(dataset_dir)),
      extra_args_(std::move(extra_args)),
      replicas_(num_replicas),
      targets_(num_replicas) {}

std::vector<std::string> ReplicaSet::Args(int i) const {
  std::vector<std::string> args = {
      "--dataset=cifar10:" + dataset_dir_,
      absl::StrCat("--num_shards=", replicas_.size()),
      absl::StrCat("--shard_index=", i),
      "--admin_listen=",
      "--decode_threads=1",
      "--augment=false"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  return args;
}

absl::Status ReplicaSet::StartAll() {
  for (int i = 0; i < size(); ++i) {
    INPUTSERVE_ASSIGN_OR_RETURN(std::unique_ptr<ServerProcess> server,
                                ServerProcess::Start(Args(i)));
    replicas_[i] = std::move(server);
    targets_[i] = replicas_[i]->data_target();
  }
  return absl::OkStatus();
}

absl::Status ReplicaSet::Restart(int i, absl::Duration timeout) {
  std::vector<std::string> args = Args(i);
  args.push_back(absl::StrCat("--listen=", targets_[i]));
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last;
  do {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(args);
    if (server.ok()) {
      replicas_[i] = *std::move(server);
      return absl::OkStatus();
    }
    // The kernel may hold the port for a moment after the old process died.
    last = server.status();
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  return last;
}

absl::StatusOr<double> ReplicaSet::BatchesSent(int i) {
  INPUTSERVE_ASSIGN_OR_RETURN(
      std::string text, HttpGet(replicas_[i]->metrics_port(), "/metrics"));
  return MetricValue(text, "inputserve_batches_sent_total{mode=\"real\"}");
}

absl::StatusOr<double> ReplicaSet::WaitForStableBatchesSent(
    int i, absl::Duration quiet, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<double> last = BatchesSent(i);
  absl::Time since = absl::Now();
  while (absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    INPUTSERVE_ASSIGN_OR_RETURN(double now, BatchesSent(i));
    if (!last.ok() || now != *last) {
      last = now;
      since = absl::Now();
    } else if (absl::Now() - since >= quiet) {
      return now;
    }
  }
  return absl::DeadlineExceededError(
      absl::StrCat("replica ", i, " kept sending batches for ",
                   absl::FormatDuration(timeout)));
}

absl::StatusOr<uint64_t> ReplicaSet::ExamplesPerEpoch(int i) {
  auto stub = v1::InputService::NewStub(
      grpc::CreateChannel(targets_[i], grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::DatasetInfo info;
  grpc::Status s = stub->GetDatasetInfo(&context, {}, &info);
  if (!s.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "GetDatasetInfo on ", targets_[i], ": ", s.error_message()));
  }
  return info.examples_per_epoch();
}

}  // namespace inputserve::testing
