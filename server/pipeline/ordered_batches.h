// OrderedBatchProducer: builds the batches of one deterministic stream, in
// step order, into its own bounded queue. For each step of (rank,
// world_size) that falls on this shard (from `first_step`, before
// `end_step`), it reads the batch's records by random access (the order of
// EpochPlan), decodes them on the shared DecodePool with each example's
// ExampleSeed(seed, epoch, record index), and pushes the batch: at most
// `prefetch_batches` ahead of the stream, and nothing else.
//
// A record whose bytes are bad (DATA_LOSS from ReadRecord) or that fails to
// decode is left out of its batch (the batch is one shorter), the same way
// on every replica. A record that cannot be read stops the producer with
// UNAVAILABLE (status(); the queue closes). Thread-safe.
#ifndef INPUTSERVE_SERVER_PIPELINE_ORDERED_BATCHES_H_
#define INPUTSERVE_SERVER_PIPELINE_ORDERED_BATCHES_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/data_order.h"
#include "server/metrics.h"
#include "server/pipeline/batch.h"
#include "server/pipeline/decode_pool.h"
#include "server/pipeline/epoch_plan.h"
#include "server/pipeline/prefetch_queue.h"

namespace inputserve {

struct OrderedBatchOptions {
  uint64_t seed = 0;
  int prefetch_batches = 4;
  // Tensors of a full batch (shape[0] = batch size); a short batch has
  // shape[0] = its size.
  std::vector<TensorLayout> layouts;
};

class OrderedBatchProducer {
 public:
  // Starts building at once. `first_step` must fall on `shard` (see
  // RankPlan::NextStepOnShard); end_step 0 = no end. Every pointer must
  // outlive the producer.
  OrderedBatchProducer(EpochPlan* epochs, DecodePool* pool,
                       ServerMetrics* metrics, OrderedBatchOptions options,
                       RankPlan plan, uint32_t shard, uint64_t first_step,
                       uint64_t end_step);
  ~OrderedBatchProducer();  // Stop().
  OrderedBatchProducer(const OrderedBatchProducer&) = delete;
  OrderedBatchProducer& operator=(const OrderedBatchProducer&) = delete;

  // Batches in step order. Closed by Stop() or a failure; after the last
  // step it stays open (its consumer knows the end from the plan).
  PrefetchQueue& queue() { return queue_; }
  // OK unless building failed (then the queue is closed).
  absl::Status status() const;
  // Closes the queue without waiting; the builder exits soon after. Safe on
  // any thread, the builder's own included (a consumer's callback may run
  // there).
  void Cancel() { queue_.Close(); }
  // Whether the builder thread has returned (Stop() then joins at once).
  bool exited() const { return exited_.load(); }
  // Closes the queue and joins the builder. Idempotent; never on the
  // builder thread.
  void Stop();

 private:
  // One batch's records, read ahead of decoding.
  struct Records {
    PlannedBatch planned;
    std::vector<RawExample> examples;
  };

  void Loop();
  absl::StatusOr<Records> Read(uint64_t step);
  // Decodes `records` on the pool; nullptr when the pool stopped. Reads the
  // next batch's records into `*next` meanwhile when `next_step` is set.
  BatchPtr Build(const Records& records, std::optional<uint64_t> next_step,
                 absl::StatusOr<Records>* next);
  void Fail(const absl::Status& status);

  EpochPlan* const epochs_;
  DecodePool* const pool_;
  ServerMetrics* const metrics_;
  const OrderedBatchOptions options_;
  const RankPlan plan_;
  const uint32_t shard_;
  const uint64_t first_step_;
  const uint64_t end_step_;
  const size_t image_bytes_;
  const size_t payload_bytes_;
  PrefetchQueue queue_;
  std::shared_ptr<PayloadPool> payloads_;
  mutable absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread builder_;
  std::atomic<bool> exited_{false};
  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_PIPELINE_ORDERED_BATCHES_H_
