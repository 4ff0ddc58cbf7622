// InputServiceImpl's deterministic-order half: checking a request against
// this server's shard and starting (and later reaping) the producer of its
// batches.
#include <algorithm>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/transport/input_service.h"
#include "server/transport/ordered_start.h"

namespace inputserve {
namespace {

// Batches per epoch over all shards a deterministic stream may plan (the
// plan keeps 16 bytes per batch of the rank's epoch): ImageNet in batches of
// one is 1.28 M.
constexpr uint64_t kMaxPlanBatches = uint64_t{1} << 22;

}  // namespace

absl::StatusOr<std::unique_ptr<InputServiceImpl::OrderedStart>>
InputServiceImpl::StartOrdered(const v1::StreamBatchesRequest& request) {
  if (request.world_size() == 0) {
    return absl::InvalidArgumentError("world_size must be at least 1");
  }
  if (request.rank() >= request.world_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rank ", request.rank(), " is out of range for world_size ",
        request.world_size(), " (0 <= rank < world_size)"));
  }
  if (options_.epochs == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "dataset '", options_.info.dataset(),
        "' has no deterministic order (no fixed epoch or no record index); "
        "use ORDERING_ARRIVAL"));
  }
  const uint32_t shard = options_.wire.shard_index;
  const uint32_t num_shards = options_.wire.num_shards;
  const uint32_t batch_size =
      static_cast<uint32_t>(pipeline_->options().batch_size);
  const uint64_t examples = options_.epochs->examples_per_epoch();
  if (request.batch_size() != batch_size) {
    return absl::FailedPreconditionError(
        absl::StrCat("batch_size ", request.batch_size(),
                     " differs from this server's ", batch_size));
  }
  if (static_cast<uint32_t>(request.shard_examples_size()) != num_shards) {
    return absl::FailedPreconditionError(absl::StrCat(
        "shard_examples lists ", request.shard_examples_size(),
        " shard(s); this server is shard ", shard, " of ", num_shards));
  }
  if (request.shard_examples(static_cast<int>(shard)) != examples) {
    return absl::FailedPreconditionError(
        absl::StrCat("shard_examples[", shard, "] is ",
                     request.shard_examples(static_cast<int>(shard)),
                     "; this shard has ", examples, " examples per epoch"));
  }
  // The plan holds an entry per batch of the epoch: bound it, whatever
  // the other shards' sizes claim.
  uint64_t epoch_batches = 0;
  for (uint64_t n : request.shard_examples()) {
    epoch_batches +=
        ShardBatchesPerEpoch(n, batch_size, request.drop_remainder());
    if (epoch_batches > kMaxPlanBatches) {
      return absl::FailedPreconditionError(
          absl::StrCat("shard_examples make an epoch of more than ",
                       kMaxPlanBatches, " batches of ", batch_size,
                       "; the deterministic order supports "
                       "at most that many"));
    }
  }
  ShardLayout layout;
  layout.batch_size = batch_size;
  layout.shard_examples.assign(request.shard_examples().begin(),
                               request.shard_examples().end());
  absl::StatusOr<RankPlan> plan =
      RankPlan::Create(std::move(layout), request.rank(), request.world_size(),
                       request.drop_remainder());
  if (!plan.ok()) {
    return absl::FailedPreconditionError(plan.status().message());
  }
  // Step numbers past this would wrap around 2^64 within an epoch.
  const uint64_t max_step =
      std::numeric_limits<uint64_t>::max() - 2 * plan->steps_per_epoch();
  if (request.start_step() > max_step) {
    return absl::InvalidArgumentError(
        absl::StrCat("start_step ", request.start_step(),
                     " is beyond the last step (", max_step, ")"));
  }
  auto start = std::make_unique<OrderedStart>(*std::move(plan));
  start->shard = shard;
  start->end_step = request.end_step();
  std::optional<uint64_t> first =
      start->plan->NextStepOnShard(shard, request.start_step());
  if (!first.has_value() ||
      (start->end_step != 0 && *first >= start->end_step)) {
    return start;  // No step here: an empty stream.
  }
  start->next_step = *first;
  OrderedBatchOptions batch_options;
  batch_options.seed = pipeline_->options().seed;
  batch_options.prefetch_batches = pipeline_->options().prefetch_batches;
  batch_options.layouts = pipeline_->layouts();
  start->producer = std::make_shared<OrderedBatchProducer>(
      options_.epochs, &pipeline_->decode_pool(), metrics_,
      std::move(batch_options), start->plan, shard, *first, start->end_step);
  return start;
}

void InputServiceImpl::Retire(std::shared_ptr<OrderedBatchProducer> producer) {
  if (producer == nullptr) return;
  producer->Cancel();
  absl::MutexLock lock(&mu_);
  retired_.push_back(std::move(producer));
}

void InputServiceImpl::ReapProducers() {
  std::vector<std::shared_ptr<OrderedBatchProducer>> exited;
  {
    absl::MutexLock lock(&mu_);
    auto it =
        std::partition(retired_.begin(), retired_.end(),
                       [](const std::shared_ptr<OrderedBatchProducer>& p) {
                         return !p->exited();
                       });
    exited.assign(std::make_move_iterator(it),
                  std::make_move_iterator(retired_.end()));
    retired_.erase(it, retired_.end());
  }
  // Their threads have returned: joining them does not wait.
  for (auto& producer : exited) producer->Stop();
}

}  // namespace inputserve
