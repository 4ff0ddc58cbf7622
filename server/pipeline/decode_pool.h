// DecodePool: the decode worker threads, shared by every batch producer (the
// arrival builder and one producer per deterministic stream). A producer
// submits a Job (one batch's worth of records with their destinations and
// augmentation seeds) and waits for it; workers take items from the oldest
// submitted jobs first, one ExampleDecoder per worker. Output depends only on
// each item's record and seed, never on which worker decoded it.
//
// Thread-safe. A Job must outlive Wait() on it.
#ifndef INPUTSERVE_SERVER_PIPELINE_DECODE_POOL_H_
#define INPUTSERVE_SERVER_PIPELINE_DECODE_POOL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/sources/dataset.h"

namespace inputserve {

class DecodePool {
 public:
  // One record to decode: `image` receives image_bytes, `label` the label.
  struct Item {
    const RawExample* example = nullptr;
    uint64_t seed = 0;
    uint8_t* image = nullptr;
    int32_t* label = nullptr;
  };

  class Job {
   public:
    explicit Job(std::vector<Item> items)
        : items_(std::move(items)), results_(items_.size()) {}
    size_t size() const { return items_.size(); }
    // Item i's decode result, once Wait() returned.
    const std::vector<absl::Status>& results() const { return results_; }

   private:
    friend class DecodePool;
    const std::vector<Item> items_;
    std::vector<absl::Status> results_;
    std::atomic<size_t> next_{0};
    size_t workers_inside_ = 0;  // Guarded by the pool's mu_.
    size_t done_ = 0;            // Guarded by the pool's mu_.
  };

  // Starts `threads` workers (<= 0: UsableCpuCount()), each with a decoder
  // of `dataset` (which must outlive the pool).
  DecodePool(const Dataset& dataset, int threads);
  ~DecodePool();  // Stop().
  DecodePool(const DecodePool&) = delete;
  DecodePool& operator=(const DecodePool&) = delete;

  size_t threads() const { return workers_.size(); }

  void Submit(Job* job);
  // Whether every item of a submitted job is decoded.
  bool Done(const Job& job);
  // Waits until every item is decoded and no worker touches the job. False
  // when the pool stopped first (the undecoded items' results are
  // CANCELLED).
  bool Wait(Job* job);
  // Stops and joins the workers; jobs waiting or submitted later fail.
  // Idempotent.
  void Stop();

 private:
  void WorkerLoop(ExampleDecoder* decoder);

  std::vector<std::unique_ptr<ExampleDecoder>> decoders_;
  std::vector<std::thread> workers_;
  absl::Mutex mu_;
  std::deque<Job*> jobs_ ABSL_GUARDED_BY(mu_);  // Items still unclaimed.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;  // Workers joined.
  absl::Mutex stop_mu_;
};

// Moves the successfully decoded items of a batch (results[i] ok) to the
// front, keeping their order: image i at images + i * image_bytes, label i at
// labels[i]. Returns how many succeeded.
size_t CompactDecoded(const std::vector<absl::Status>& results,
                      size_t image_bytes, uint8_t* images, int32_t* labels);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_PIPELINE_DECODE_POOL_H_
