// Pipeline: turns a Dataset into a stream of batches in a PrefetchQueue.
//
//   reader (1 thread) -> shuffle buffer -> DecodePool (N threads)
//     -> batch assembly -> PrefetchQueue (bounded)
//
// One builder thread reads raw records (through the shuffle buffer) and hands
// each batch's worth to the decode pool, which decodes straight into the
// batch's payload. The pool is shared: deterministic streams submit their
// own jobs to it (see ordered_batches.h). Records that fail to decode are
// dropped and replaced by the next ones, so every batch is full. Output is
// deterministic for a given seed: augmentation randomness comes from (seed,
// epoch, record index), never from which thread decoded what.
//
// This class is thread-safe. The builder blocks when the queue is full, so a
// server in synthetic mode (nobody popping) stops decoding.
#ifndef INPUTSERVE_SERVER_PIPELINE_PIPELINE_H_
#define INPUTSERVE_SERVER_PIPELINE_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/metrics.h"
#include "server/pipeline/batch.h"
#include "server/pipeline/decode_pool.h"
#include "server/pipeline/prefetch_queue.h"
#include "server/sources/dataset.h"

namespace inputserve {

struct PipelineOptions {
  int batch_size = 256;
  int decode_threads = 0;    // 0: UsableCpuCount() (affinity, cgroup quota).
  int prefetch_batches = 4;  // Capacity of the PrefetchQueue.
  int shuffle_buffer = 0;    // 0 or 1: records in reader order.
  uint64_t seed = 0;
};

class Pipeline {
 public:
  // Starts the builder and decode threads at once. `metrics` must outlive the
  // pipeline.
  static absl::StatusOr<std::unique_ptr<Pipeline>> Create(
      std::unique_ptr<Dataset> dataset, const PipelineOptions& options,
      ServerMetrics* metrics);
  ~Pipeline();  // Stops and joins every thread.

  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  PrefetchQueue& queue() { return queue_; }
  const Dataset& dataset() const { return *dataset_; }
  const PipelineOptions& options() const { return options_; }
  // Tensors of every batch: image [B,H,W,C] uint8, then label [B] int32.
  const std::vector<TensorLayout>& layouts() const { return layouts_; }
  size_t payload_bytes() const { return payload_bytes_; }
  // Decode worker threads (options().decode_threads, or the usable CPUs).
  size_t decode_threads() const { return pool_->threads(); }
  // The decode workers, for other batch producers.
  DecodePool& decode_pool() { return *pool_; }
  // Payload buffers allocated so far; flat in steady state (they recycle).
  uint64_t payload_allocations() const { return payloads_->allocations(); }

  // The first batch the pipeline built (shared with the queue, not taken from
  // it). Waits up to `timeout`; the pipeline's error if it failed first.
  absl::StatusOr<BatchPtr> FirstBatch(absl::Duration timeout);
  // OK while running; the error that stopped the builder otherwise.
  absl::Status status() const;

  // Stops building: closes the queue and joins every thread. Idempotent.
  void Stop();

 private:
  struct Shuffled {
    RawExample example;
    uint64_t epoch = 0;
  };
  class Skips;

  Pipeline(std::unique_ptr<Dataset> dataset, const PipelineOptions& options,
           ServerMetrics* metrics);
  void Start();
  void BuilderLoop();
  absl::StatusOr<BatchPtr> BuildBatch(uint64_t sequence);
  absl::StatusOr<Shuffled> NextShuffled();
  // The next record in shuffled order, from the read-ahead first.
  absl::StatusOr<Shuffled> NextRecord();
  absl::Status FillShuffleBuffer();
  // Decodes `items` into consecutive slots; returns how many succeeded, the
  // successful ones compacted to the front in input order. While the workers
  // decode, this (builder) thread reads the next batch's records ahead.
  size_t DecodeInto(const std::vector<Shuffled>& items, uint8_t* images,
                    int32_t* labels);
  // Reads up to a batch of records into read_ahead_ while `job` runs.
  void ReadAhead(const DecodePool::Job& job);
  void Fail(const absl::Status& status);

  const PipelineOptions options_;
  const std::unique_ptr<Dataset> dataset_;
  ServerMetrics* const metrics_;
  const ExampleShape shape_;
  std::vector<TensorLayout> layouts_;
  size_t payload_bytes_ = 0;
  PrefetchQueue queue_;
  std::shared_ptr<PayloadPool> payloads_;
  std::unique_ptr<Skips> skips_;

  // Builder-thread state.
  std::unique_ptr<ExampleReader> reader_;
  uint64_t reader_epoch_ = 0;
  bool reader_epoch_done_ = false;
  uint64_t records_this_epoch_ = 0;
  std::vector<Shuffled> shuffle_buffer_;
  std::deque<Shuffled> read_ahead_;
  absl::Status read_ahead_error_;  // Returned once read_ahead_ is drained.
  std::mt19937_64 shuffle_rng_;
  uint64_t consecutive_decode_failures_ = 0;

  std::unique_ptr<DecodePool> pool_;

  mutable absl::Mutex state_mu_;
  absl::Status status_ ABSL_GUARDED_BY(state_mu_);
  BatchPtr first_batch_ ABSL_GUARDED_BY(state_mu_);

  std::thread builder_;
  std::atomic<bool> stopped_{false};
};

// Seed for one record's augmentation: a hash of (seed, epoch, index).
uint64_t ExampleSeed(uint64_t seed, uint64_t epoch, uint64_t index);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_PIPELINE_PIPELINE_H_
