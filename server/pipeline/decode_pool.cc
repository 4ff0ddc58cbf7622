#include "server/pipeline/decode_pool.h"

#include <cstring>
#include <utility>

#include "server/cpu_limit.h"

namespace inputserve {

DecodePool::DecodePool(const Dataset& dataset, int threads) {
  if (threads <= 0) threads = UsableCpuCount();
  for (int i = 0; i < threads; ++i) decoders_.push_back(dataset.NewDecoder());
  for (auto& decoder : decoders_) {
    workers_.emplace_back([this, d = decoder.get()] { WorkerLoop(d); });
  }
}

DecodePool::~DecodePool() { Stop(); }

void DecodePool::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (exited_) return;
    stopping_ = true;
  }
  for (std::thread& t : workers_) t.join();
  absl::MutexLock lock(&mu_);
  exited_ = true;
  jobs_.clear();
}

void DecodePool::Submit(Job* job) {
  absl::MutexLock lock(&mu_);
  if (job->size() > 0) jobs_.push_back(job);
}

bool DecodePool::Done(const Job& job) {
  absl::MutexLock lock(&mu_);
  return job.done_ == job.items_.size();
}

bool DecodePool::Wait(Job* job) {
  absl::MutexLock lock(&mu_);
  auto settled = [this, job]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (job->done_ == job->items_.size() || exited_) &&
           job->workers_inside_ == 0;
  };
  mu_.Await(absl::Condition(&settled));
  // A job whose items are all claimed may still be queued; it must not
  // outlive its entry.
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if (*it == job) {
      jobs_.erase(it);
      break;
    }
  }
  if (job->done_ == job->items_.size()) return true;
  for (size_t i = job->next_.load(); i < job->items_.size(); ++i) {
    job->results_[i] = absl::CancelledError("the decode pool stopped");
  }
  return false;
}

void DecodePool::WorkerLoop(ExampleDecoder* decoder) {
  for (;;) {
    Job* job;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        // Jobs whose items are all claimed leave the queue.
        while (!jobs_.empty() &&
               jobs_.front()->next_.load() >= jobs_.front()->items_.size()) {
          jobs_.pop_front();
        }
        return stopping_ || !jobs_.empty();
      };
      mu_.Await(absl::Condition(&has_work));
      if (stopping_) return;
      job = jobs_.front();
      ++job->workers_inside_;
    }
    size_t decoded = 0;
    const size_t n = job->items_.size();
    for (size_t i = job->next_.fetch_add(1); i < n;
         i = job->next_.fetch_add(1)) {
      const Item& item = job->items_[i];
      job->results_[i] =
          decoder->Decode(*item.example, item.seed, item.image, item.label);
      ++decoded;
    }
    absl::MutexLock lock(&mu_);
    job->done_ += decoded;
    --job->workers_inside_;
  }
}

size_t CompactDecoded(const std::vector<absl::Status>& results,
                      size_t image_bytes, uint8_t* images, int32_t* labels) {
  size_t out = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) continue;
    if (out != i) {
      std::memmove(images + out * image_bytes, images + i * image_bytes,
                   image_bytes);
      labels[out] = labels[i];
    }
    ++out;
  }
  return out;
}

}  // namespace inputserve
