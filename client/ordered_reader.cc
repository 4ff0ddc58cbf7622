#include "client/ordered_reader.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/transport/backoff.h"

namespace inputserve::client_internal {
namespace {

bool ServesDeterministic(const v1::DatasetInfo& info) {
  return std::find(info.orderings().begin(), info.orderings().end(),
                   v1::ORDERING_DETERMINISTIC) != info.orderings().end();
}

// One used shard's stream: asks the current replica for the shard's steps
// from the first one missing, checks each batch is the step it expects, and
// moves to the next replica when a call ends early.
class ShardPlan final : public StreamPlan {
 public:
  ShardPlan(const OrderSetup* setup, uint32_t shard,
            std::vector<StreamReplica> replicas, v1::StreamBatchesRequest base,
            BatchQueue* queue, const ClientOptions& options)
      : setup_(setup),
        shard_(shard),
        replicas_(std::move(replicas)),
        base_(std::move(base)),
        queue_(queue),
        backoff_(options.initial_backoff, options.max_backoff) {}

  bool NextCall(Call* call) override {
    const std::optional<uint64_t> from = FirstMissing();
    if (!from.has_value()) return false;
    const StreamReplica& replica = replicas_[current_];
    call->target_index = replica.target_index;
    call->target = replica.target;
    call->channel = replica.channel;
    call->request = base_;
    call->request.set_start_step(*from);
    expected_ = from;
    return true;
  }

  absl::StatusOr<Slot*> Acquire(const v1::BatchHeader& header,
                                int rows) override {
    if (header.mode() == v1::MODE_SYNTHETIC) return queue_->AcquireFor(header);
    if (!header.deterministic()) {
      return absl::DataLossError(
          "the server sent a batch that is not of the deterministic order");
    }
    if (!expected_.has_value() || header.step() != *expected_) {
      return absl::DataLossError(absl::StrCat(
          "expected step ",
          expected_.has_value() ? absl::StrCat(*expected_) : "none",
          " of shard ", shard_, ", the server sent step ", header.step()));
    }
    const PlannedBatch planned = setup_->plan.At(header.step());
    if (header.batch_index() != planned.index ||
        static_cast<uint32_t>(rows) != planned.size) {
      return absl::DataLossError(absl::StrCat(
          "step ", header.step(), " should be batch ", planned.index, " (",
          planned.size, " examples) of shard ", shard_, "'s epoch ",
          planned.epoch, ", the server sent batch ", header.batch_index(), " (",
          rows, " examples)"));
    }
    expected_ = Within(setup_->plan.NextStepOnShard(shard_, header.step() + 1));
    return queue_->AcquireFor(header);
  }

  absl::Duration Ended(const absl::Status& status, bool delivered,
                       bool cancelled) override {
    if (delivered) {
      backoff_.Reset();
      failures_ = 0;
    }
    if (cancelled) return absl::ZeroDuration();
    if (status.ok() && !FirstMissing().has_value()) {
      return absl::ZeroDuration();  // Done: the stream ends.
    }
    // Next replica at once; after a whole round without a batch, back off
    // (one replica: the same address after backoff, e.g. while it restarts).
    current_ = (current_ + 1) % replicas_.size();
    ++failures_;
    return failures_ % replicas_.size() == 0 ? backoff_.Next()
                                             : absl::ZeroDuration();
  }

  bool allow_short() const override { return !setup_->plan.drop_remainder(); }

 private:
  // `step` when it is before the end of the requested epochs.
  std::optional<uint64_t> Within(std::optional<uint64_t> step) const {
    if (step.has_value() && setup_->end_step != 0 &&
        *step >= setup_->end_step) {
      return std::nullopt;
    }
    return step;
  }

  // The first step of this shard, from the one Next() needs on, that has
  // not arrived; nullopt when every step up to the end has.
  std::optional<uint64_t> FirstMissing() const {
    std::optional<uint64_t> step =
        Within(setup_->plan.NextStepOnShard(shard_, queue_->next_step()));
    while (step.has_value() && queue_->HasReady(*step)) {
      step = Within(setup_->plan.NextStepOnShard(shard_, *step + 1));
    }
    return step;
  }

  const OrderSetup* const setup_;
  const uint32_t shard_;
  const std::vector<StreamReplica> replicas_;
  const v1::StreamBatchesRequest base_;
  BatchQueue* const queue_;
  Backoff backoff_;
  size_t current_ = 0;                // Replica of the next call.
  size_t failures_ = 0;               // Calls ended early since the last batch.
  std::optional<uint64_t> expected_;  // Step the current call sends next.
};

}  // namespace

absl::StatusOr<OrderSetup> PlanOrder(const ClientOptions& options,
                                     const std::vector<std::string>& names,
                                     const ProbeResult& probe) {
  int first = -1;
  uint32_t num_shards = 1;
  std::vector<std::string> unreachable;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!probe.answered_by[i]) {
      unreachable.push_back(names[i]);
      continue;
    }
    const v1::DatasetInfo& info = probe.infos[i];
    if (!ServesDeterministic(info)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "target ", names[i], " (dataset '", info.dataset(),
          "') does not serve the deterministic order: that needs a dataset "
          "with a fixed epoch and random access, on a server that supports "
          "it"));
    }
    const uint32_t shards = std::max<uint32_t>(1, info.num_shards());
    if (first < 0) {
      first = static_cast<int>(i);
      num_shards = shards;
    } else if (shards != num_shards) {
      return absl::FailedPreconditionError(absl::StrCat(
          "targets disagree on the shard count: ", names[first], " has ",
          num_shards, " shard(s), ", names[i], " has ", shards));
    }
  }
  std::vector<std::vector<int>> replicas(num_shards);
  std::vector<uint64_t> examples(num_shards, 0);
  for (size_t i = 0; i < names.size(); ++i) {
    if (!probe.answered_by[i]) continue;
    const v1::DatasetInfo& info = probe.infos[i];
    const uint32_t s = info.shard_index();
    if (s >= num_shards) {
      return absl::FailedPreconditionError(
          absl::StrCat("target ", names[i], " reports shard ", s, " of ",
                       num_shards, " (shard index out of range)"));
    }
    if (info.examples_per_epoch() == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "target ", names[i], " has no fixed epoch (0 examples per epoch)"));
    }
    if (!replicas[s].empty()) {
      const int twin = replicas[s].front();
      const v1::DatasetInfo& other = probe.infos[twin];
      if (other.examples_per_epoch() != info.examples_per_epoch() ||
          other.order_fingerprint() != info.order_fingerprint()) {
        return absl::FailedPreconditionError(
            absl::StrCat("replicas of shard ", s, " differ: ", names[twin],
                         " has ", other.examples_per_epoch(),
                         " examples per epoch, order "
                         "fingerprint ",
                         other.order_fingerprint(), "; ", names[i], " has ",
                         info.examples_per_epoch(), ", fingerprint ",
                         info.order_fingerprint(),
                         " (started with different flags or data?)"));
      }
    }
    replicas[s].push_back(static_cast<int>(i));
    examples[s] = info.examples_per_epoch();
  }
  std::vector<uint32_t> missing;
  for (uint32_t s = 0; s < num_shards; ++s) {
    if (replicas[s].empty()) missing.push_back(s);
  }
  if (!missing.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "the deterministic order needs every shard, but no target of shard(s) ",
        absl::StrJoin(missing, ", "), " of ", num_shards, " answered",
        unreachable.empty()
            ? std::string()
            : absl::StrCat(" (unreachable: ", absl::StrJoin(unreachable, ", "),
                           ")")));
  }
  ShardLayout layout;
  layout.batch_size = probe.info.batch_size();
  layout.shard_examples = std::move(examples);
  absl::StatusOr<RankPlan> plan =
      RankPlan::Create(std::move(layout), options.rank, options.world_size,
                       options.drop_remainder);
  if (!plan.ok()) return plan.status();
  const uint64_t per_epoch = plan->steps_per_epoch();
  if (options.num_epochs > std::numeric_limits<uint64_t>::max() / per_epoch) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ClientOptions.num_epochs ", options.num_epochs, " is too large"));
  }
  return OrderSetup{*std::move(plan), std::move(replicas),
                    options.num_epochs * per_epoch};
}

int OrderedWindow(const OrderSetup& setup, int prefetch_batches) {
  int used = 0;
  for (uint32_t s = 0; s < setup.replicas.size(); ++s) {
    if (setup.plan.UsesShard(s)) ++used;
  }
  return std::max(prefetch_batches, used);
}

OrderedReader::OrderedReader(const OrderSetup* setup,
                             const ClientOptions& options,
                             std::vector<std::vector<StreamReplica>> replicas,
                             BatchStreamShared shared, bool start_paused) {
  if (start_paused) gate_.Pause();
  shared.gate = &gate_;
  v1::StreamBatchesRequest base;
  base.set_consumer_id(options.consumer_id);
  base.set_ordering(v1::ORDERING_DETERMINISTIC);
  base.set_rank(options.rank);
  base.set_world_size(options.world_size);
  base.set_end_step(setup->end_step);
  base.set_drop_remainder(options.drop_remainder);
  base.set_batch_size(setup->plan.layout().batch_size);
  for (uint64_t n : setup->plan.layout().shard_examples) {
    base.add_shard_examples(n);
  }
  for (uint32_t s = 0; s < replicas.size(); ++s) {
    if (replicas[s].empty() || !setup->plan.UsesShard(s)) continue;
    streams_.push_back(std::make_unique<BatchStream>(
        std::make_unique<ShardPlan>(setup, s, std::move(replicas[s]), base,
                                    shared.queue, options),
        shared));
  }
}

OrderedReader::~OrderedReader() {
  gate_.Shutdown();
  streams_.clear();
}

}  // namespace inputserve::client_internal
