// Fixtures for many-replica fault tests: a generated CIFAR-10 dataset whose
// records are known by content hash, N sharded inputserve-server replicas on
// loopback that can be killed, drained and restarted on their old port, and
// a compact record of each batch a client returned.
// Not thread-safe: one test thread drives a ReplicaSet.
#ifndef INPUTSERVE_TESTS_INTEGRATION_FAULTS_REPLICA_SET_H_
#define INPUTSERVE_TESTS_INTEGRATION_FAULTS_REPLICA_SET_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "inputserve/batch.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {

// FNV-1a, 64 bit: enough to tell a few hundred distinct images apart.
uint64_t HashBytes(const void* data, size_t size);

struct CifarDataset {
  std::string dir;
  // Per record, in file order: hash of the NHWC image the server should
  // send for it (the files store channel-major planes).
  std::vector<uint64_t> image_hashes;
};

// Runs inputserve-datagen into a fresh directory and reads the files back.
absl::StatusOr<CifarDataset> GenerateCifar(int num_examples, uint64_t seed);

// What a test keeps of one batch Next() returned.
struct BatchRecord {
  std::string source;
  uint64_t sequence = 0;
  uint64_t epoch = 0;
  std::vector<uint64_t> image_hashes;  // One per example, in batch order.
};

// Needs num_devices = 0 (one unsplit host batch with an "image" tensor).
BatchRecord Record(const Batch& batch);

class ReplicaSet {
 public:
  // Replica i serves --dataset=cifar10:<dataset_dir> --num_shards=n
  // --shard_index=i --augment=false (images equal the files' records) plus
  // `extra_args`; admin is disabled.
  ReplicaSet(std::string dataset_dir, int num_replicas,
             std::vector<std::string> extra_args);

  absl::Status StartAll();
  // Starts replica i again with its first run's arguments on the same data
  // port, retrying while the port is still held (bounded by `timeout`).
  absl::Status Restart(int i, absl::Duration timeout = absl::Seconds(20));

  ServerProcess& replica(int i) { return *replicas_[i]; }
  int size() const { return static_cast<int>(replicas_.size()); }
  // "127.0.0.1:<port>" per replica, fixed by the first start.
  const std::vector<std::string>& targets() const { return targets_; }

  // inputserve_batches_sent_total{mode="real"} of replica i.
  absl::StatusOr<double> BatchesSent(int i);
  // Polls BatchesSent(i) until it holds still for `quiet` (a stalled
  // consumer has filled every buffer); bounded by `timeout`.
  absl::StatusOr<double> WaitForStableBatchesSent(
      int i, absl::Duration quiet = absl::Milliseconds(400),
      absl::Duration timeout = absl::Seconds(15));
  // examples_per_epoch from replica i's GetDatasetInfo.
  absl::StatusOr<uint64_t> ExamplesPerEpoch(int i);

 private:
  std::vector<std::string> Args(int i) const;

  const std::string dataset_dir_;
  const std::vector<std::string> extra_args_;
  std::vector<std::unique_ptr<ServerProcess>> replicas_;
  std::vector<std::string> targets_;
};

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_INTEGRATION_FAULTS_REPLICA_SET_H_
