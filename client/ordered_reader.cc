#include "client/ordered_reader.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "client/transport/backoff.h"

namespace inputserve::client_internal {
namespace {

bool ServesDeterministic(const v1::DatasetInfo& info) {
  return std::find(info.orderings().begin(), info.orderings().end(),
                   v1::ORDERING_DETERMINISTIC) != info.orderings().end();
}

}  // namespace

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
        base_(std::move(base)),
        queue_(queue),
        backoff_(options.initial_backoff, options.max_backoff),
        replicas_(std::move(replicas)) {}

  bool NextCall(Call* call) override {
    const std::optional<uint64_t> from = FirstMissing();
    if (!from.has_value()) return false;
    {
      absl::MutexLock lock(&mu_);
      const StreamReplica& replica = replicas_[current_];
      call->target_index = replica.target_index;
      call->target = replica.target;
      call->channel = replica.channel;
    }
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
    // Fewer examples than planned: records that failed to decode are left
    // out (the same ones on every replica).
    if (header.batch_index() != planned.index ||
        static_cast<uint32_t>(rows) > planned.size) {
      return absl::DataLossError(absl::StrCat(
          "step ", header.step(), " should be batch ", planned.index,
          " (at most ", planned.size, " examples) of shard ", shard_,
          "'s epoch ", planned.epoch, ", the server sent batch ",
          header.batch_index(), " (", rows, " examples)"));
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
    absl::MutexLock lock(&mu_);
    current_ = (current_ + 1) % replicas_.size();
    ++failures_;
    return failures_ % replicas_.size() == 0 ? backoff_.Next()
                                             : absl::ZeroDuration();
  }

  void AddReplica(StreamReplica replica) {
    absl::MutexLock lock(&mu_);
    // A retired last replica was kept only for want of another.
    if (last_retired_) {
      replicas_.clear();
      current_ = 0;
      last_retired_ = false;
    }
    replicas_.push_back(std::move(replica));
  }

  void RemoveReplica(int target_index) {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < replicas_.size(); ++i) {
      if (replicas_[i].target_index != target_index) continue;
      if (replicas_.size() == 1) {
        last_retired_ = true;  // Kept: a shard needs an address to retry.
        return;
      }
      replicas_.erase(replicas_.begin() + i);
      if (current_ > i) --current_;
      current_ %= replicas_.size();
      return;
    }
  }

  // A short last batch (drop_remainder off), or one without the records
  // that failed to decode.
  bool allow_short() const override { return true; }

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
  const v1::StreamBatchesRequest base_;
  BatchQueue* const queue_;
  Backoff backoff_;
  size_t failures_ = 0;               // Calls ended early since the last batch.
  std::optional<uint64_t> expected_;  // Step the current call sends next.
  // Replicas change on the client's DNS refresh thread.
  absl::Mutex mu_;
  std::vector<StreamReplica> replicas_ ABSL_GUARDED_BY(mu_);
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;  // Replica of the next call.
  bool last_retired_ ABSL_GUARDED_BY(mu_) = false;
};

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
  std::vector<uint64_t> fingerprints(num_shards);
  for (uint32_t s = 0; s < num_shards; ++s) {
    fingerprints[s] = probe.infos[replicas[s].front()].order_fingerprint();
  }
  return OrderSetup{*std::move(plan), std::move(replicas),
                    std::move(fingerprints), options.num_epochs * per_epoch};
}

absl::StatusOr<uint32_t> ShardOfReplica(const OrderSetup& setup,
                                        const std::string& target,
                                        const v1::DatasetInfo& info) {
  const ShardLayout& layout = setup.plan.layout();
  const uint32_t s = info.shard_index();
  const uint32_t shards = std::max<uint32_t>(1, info.num_shards());
  std::string differs;
  if (!ServesDeterministic(info)) {
    differs = "it does not serve the deterministic order";
  } else if (shards != layout.shard_examples.size() || s >= shards) {
    differs = absl::StrCat("it serves shard ", s, " of ", shards,
                           ", not one of ", layout.shard_examples.size());
  } else if (info.batch_size() != layout.batch_size ||
             info.examples_per_epoch() != layout.shard_examples[s] ||
             info.order_fingerprint() != setup.fingerprints[s]) {
    differs =
        absl::StrCat("its batch size ", info.batch_size(),
                     ", examples per epoch ", info.examples_per_epoch(),
                     " or order fingerprint ", info.order_fingerprint(),
                     " differ from shard ", s, "'s ", layout.batch_size, ", ",
                     layout.shard_examples[s], ", ", setup.fingerprints[s]);
  }
  if (!differs.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(target, " is not used as a replica: ", differs));
  }
  return s;
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
  plans_.assign(replicas.size(), nullptr);
  for (uint32_t s = 0; s < replicas.size(); ++s) {
    if (replicas[s].empty() || !setup->plan.UsesShard(s)) continue;
    auto plan = std::make_unique<ShardPlan>(setup, s, std::move(replicas[s]),
                                            base, shared.queue, options);
    plans_[s] = plan.get();
    streams_.push_back(std::make_unique<BatchStream>(std::move(plan), shared));
  }
}

void OrderedReader::AddReplica(uint32_t shard, StreamReplica replica) {
  if (shard < plans_.size() && plans_[shard] != nullptr) {
    plans_[shard]->AddReplica(std::move(replica));
  }
}

void OrderedReader::RemoveReplica(int target_index) {
  for (ShardPlan* plan : plans_) {
    if (plan != nullptr) plan->RemoveReplica(target_index);
  }
}

OrderedReader::~OrderedReader() {
  gate_.Shutdown();
  streams_.clear();
}

}  // namespace inputserve::client_internal
