// One client, three sharded replicas on loopback: kill -9 one mid-epoch and
// restart it on its port, drain one with SIGTERM, lose them all. The client
// must keep going on the survivors, say what happened in its stats, and fail
// only when nothing can be reached, naming every target.
//
// "Gap" figures are measured exactly: the consumer stops calling Next() until
// the victim's batches_sent_total holds still (every buffer between them is
// full), so sent - received is what the fault cost.
#include <algorithm>
#include <csignal>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "tests/integration/faults/replica_set.h"
#include "tests/testing/status_matchers.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kReplicas = 3;
constexpr int kVictim = 1;

class ReplicaFaultsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<CifarDataset> d = GenerateCifar(300, /*seed=*/11);
    ASSERT_TRUE(d.ok()) << d.status();
    dataset_ = new CifarDataset(*std::move(d));
  }
  static void TearDownTestSuite() { delete dataset_; }

  void SetUp() override {
    // Batches of 20 over 16 KiB chunks: each batch is 4 chunks, so a kill
    // can land mid-batch.
    replicas_ = std::make_unique<ReplicaSet>(
        dataset_->dir, kReplicas,
        std::vector<std::string>{"--batch_size=20", "--chunk_bytes=16384"});
    ASSERT_TRUE(replicas_->StartAll().ok());
  }

  std::unique_ptr<Client> MakeClient(absl::Duration unavailable_timeout) {
    ClientOptions o;
    o.targets = replicas_->targets();
    o.device_kind = DeviceKind::kHost;
    o.consumer_id = "faults";
    o.initial_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(250);
    o.unavailable_timeout = unavailable_timeout;
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(o);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // Next() that must succeed; every call is bounded by the client's
  // unavailable_timeout.
  bool Pull(Client& client, BatchRecord* out) {
    absl::StatusOr<const Batch*> batch = client.Next();
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok()) return false;
    *out = Record(**batch);
    EXPECT_EQ(out->image_hashes.size(), 20u);
    per_source_[out->source].push_back(out->sequence);
    return true;
  }

  // Pulls until every replica has delivered at least one batch.
  void PullUntilAllSourcesSeen(Client& client) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    BatchRecord r;
    while (per_source_.size() < kReplicas && absl::Now() < deadline) {
      ASSERT_TRUE(Pull(client, &r));
    }
    ASSERT_EQ(per_source_.size(), static_cast<size_t>(kReplicas))
        << "not every replica delivered within 30s";
  }

  size_t Received(int replica) {
    return per_source_[replicas_->targets()[replica]].size();
  }

  static CifarDataset* dataset_;
  std::unique_ptr<ReplicaSet> replicas_;
  std::map<std::string, std::vector<uint64_t>> per_source_;
};
CifarDataset* ReplicaFaultsTest::dataset_ = nullptr;

TEST_F(ReplicaFaultsTest, KillNineMidEpochThenRestartOnTheSamePort) {
  std::unique_ptr<Client> client = MakeClient(absl::Seconds(10));
  ASSERT_NE(client, nullptr);
  PullUntilAllSourcesSeen(*client);

  // Stall, then kill: everything the victim had written but the client had
  // not received is lost with it.
  absl::StatusOr<double> sent = replicas_->WaitForStableBatchesSent(kVictim);
  ASSERT_TRUE(sent.ok()) << sent.status();
  const size_t received_before_kill = Received(kVictim);
  replicas_->replica(kVictim).Kill();
  const absl::Time killed = absl::Now();

  // The trainer keeps getting batches: from the survivors, plus whatever
  // of the victim's was already in the client's prefetch slots.
  BatchRecord r;
  size_t from_survivors = 0;
  while (from_survivors < 30 || client->stats().stream_errors < 1 ||
         client->stats().reconnects < 1) {
    ASSERT_TRUE(Pull(*client, &r));
    if (r.source != replicas_->targets()[kVictim]) ++from_survivors;
    ASSERT_LT(absl::Now() - killed, absl::Seconds(30))
        << "stats never showed the failure: stream_errors="
        << client->stats().stream_errors
        << " reconnects=" << client->stats().reconnects;
  }
  const size_t received_from_victim = Received(kVictim);
  const double lost = *sent - static_cast<double>(received_from_victim);
  EXPECT_GE(lost, 0) << "the client got more than the server sent";
  // One stream, one consumer: the victim's sequences arrived in order with
  // no hole (a hole would be a batch lost in the middle, not at the end).
  const std::vector<uint64_t>& seqs =
      per_source_[replicas_->targets()[kVictim]];
  for (size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i);

  ASSERT_TRUE(replicas_->Restart(kVictim).ok());
  const absl::Time restarted = absl::Now();
  per_source_[replicas_->targets()[kVictim]].clear();
  while (Received(kVictim) == 0) {
    ASSERT_TRUE(Pull(*client, &r));
    ASSERT_LT(absl::Now() - restarted, absl::Seconds(30))
        << "no batch from the restarted replica";
  }
  const absl::Duration recovery = absl::Now() - restarted;
  // A fresh process starts its stream at sequence 0.
  EXPECT_EQ(per_source_[replicas_->targets()[kVictim]].front(), 0u);
  const ClientStats stats = client->stats();
  const std::string figures = absl::StrCat(
      "kill -9: victim sent=", *sent,
      " received_before_kill=", received_before_kill,
      " received_total=", received_from_victim, " lost_in_flight=", lost,
      " survivors_batches_after_kill=", from_survivors,
      " recovery_after_restart_ms=", absl::ToInt64Milliseconds(recovery),
      " stream_errors=", stats.stream_errors, " reconnects=", stats.reconnects);
  std::cout << "[faults] " << figures << std::endl;
  RecordProperty("figures", figures);
}

TEST_F(ReplicaFaultsTest, SigtermDrainsOneReplicaAndTheClientMovesOn) {
  std::unique_ptr<Client> client = MakeClient(absl::Seconds(10));
  ASSERT_NE(client, nullptr);
  PullUntilAllSourcesSeen(*client);
  absl::StatusOr<double> sent = replicas_->WaitForStableBatchesSent(kVictim);
  ASSERT_TRUE(sent.ok()) << sent.status();
  const size_t received_before = Received(kVictim);

  const absl::Time signalled = absl::Now();
  // The exit code, and how long after the signal the process was gone.
  std::future<std::pair<int, absl::Duration>> exit_code =
      std::async(std::launch::async, [this, signalled] {
        const int code = replicas_->replica(kVictim).StopWithSignal(
            SIGTERM, absl::Seconds(10));
        return std::make_pair(code, absl::Now() - signalled);
      });
  // Keep pulling while it drains: the batch it was writing must still
  // arrive, and the survivors carry on.
  BatchRecord r;
  size_t from_survivors = 0;
  while (exit_code.wait_for(std::chrono::milliseconds(0)) !=
             std::future_status::ready ||
         from_survivors < 30) {
    ASSERT_TRUE(Pull(*client, &r));
    if (r.source != replicas_->targets()[kVictim]) ++from_survivors;
    ASSERT_LT(absl::Now() - signalled, absl::Seconds(30));
  }
  const auto [code, took] = exit_code.get();
  // StopWithSignal kills it and answers -1 after 10 s.
  EXPECT_EQ(code, 0) << replicas_->replica(kVictim).output();
  EXPECT_LT(took, absl::Seconds(10));
  const size_t received_total = Received(kVictim);
  // Nothing the server counted as sent is lost on a drain, and nothing
  // arrives twice or out of order (the sequence check). No upper bound: writes
  // that complete after the counter was read depend on the machine's load.
  EXPECT_GE(received_total, static_cast<size_t>(*sent));
  const std::vector<uint64_t>& seqs =
      per_source_[replicas_->targets()[kVictim]];
  for (size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i);
  EXPECT_GE(client->stats().stream_errors, 1u);
  EXPECT_THAT(replicas_->replica(kVictim).output(), HasSubstr("draining"));
  const std::string figures = absl::StrCat(
      "drain: victim sent_before_sigterm=", *sent,
      " received_before=", received_before, " received_total=", received_total,
      " lost=", std::max(0.0, *sent - static_cast<double>(received_total)),
      " exit_code=", code, " exit_after_ms=", absl::ToInt64Milliseconds(took),
      " survivors_batches=", from_survivors,
      " stream_errors=", client->stats().stream_errors);
  std::cout << "[faults] " << figures << std::endl;
  RecordProperty("figures", figures);
}

TEST_F(ReplicaFaultsTest, SigtermExitsZeroWithinTenSeconds) {
  std::unique_ptr<Client> client = MakeClient(absl::Seconds(10));
  ASSERT_NE(client, nullptr);
  PullUntilAllSourcesSeen(*client);
  // The client is not reading now (a stalled trainer): the drain must still
  // end on time, cancelling the stream it cannot finish.
  const absl::Time signalled = absl::Now();
  EXPECT_EQ(
      replicas_->replica(kVictim).StopWithSignal(SIGTERM, absl::Seconds(10)),
      0);
  const absl::Duration took = absl::Now() - signalled;
  EXPECT_LT(took, absl::Seconds(10));
  std::cout << "[faults] drain with a stalled client took "
            << absl::FormatDuration(took) << std::endl;
  BatchRecord r;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Pull(*client, &r));
}

// After a long outage the client must still reconnect within about
// max_backoff of the replica's return. gRPC channels have their own
// reconnect backoff (1 s growing to 120 s by default): unless the client
// bounds it, a replica that was down for 20 s is only retried seconds after
// it is back.
TEST_F(ReplicaFaultsTest, ReconnectsWithinMaxBackoffAfterALongOutage) {
  std::unique_ptr<Client> client = MakeClient(absl::Seconds(10));
  ASSERT_NE(client, nullptr);
  PullUntilAllSourcesSeen(*client);
  replicas_->replica(kVictim).Kill();
  const absl::Time killed = absl::Now();
  BatchRecord r;
  while (absl::Now() - killed < absl::Seconds(20)) {
    ASSERT_TRUE(Pull(*client, &r));
  }
  ASSERT_TRUE(replicas_->Restart(kVictim).ok());
  const absl::Time restarted = absl::Now();
  per_source_[replicas_->targets()[kVictim]].clear();
  while (Received(kVictim) == 0) {
    ASSERT_TRUE(Pull(*client, &r));
    ASSERT_LT(absl::Now() - restarted, absl::Seconds(60));
  }
  const absl::Duration recovery = absl::Now() - restarted;
  std::cout << "[faults] after a 20s outage the client reconnected "
            << absl::ToInt64Milliseconds(recovery)
            << " ms after the restart (max_backoff 250ms)" << std::endl;
  EXPECT_LT(recovery, absl::Milliseconds(1500));
}

TEST_F(ReplicaFaultsTest,
       NextFailsUnavailableListingEveryTargetWhenAllAreGone) {
  std::unique_ptr<Client> client = MakeClient(absl::Seconds(1));
  ASSERT_NE(client, nullptr);
  PullUntilAllSourcesSeen(*client);
  for (int i = 0; i < kReplicas; ++i) replicas_->replica(i).Kill();
  const absl::Time killed = absl::Now();
  absl::Status error;
  int prefetched = 0;
  while (error.ok()) {
    absl::StatusOr<const Batch*> batch = client->Next();
    error = batch.status();
    if (batch.ok()) ++prefetched;
    ASSERT_LT(absl::Now() - killed, absl::Seconds(20)) << "Next() never failed";
  }
  // Batches already in the client's buffers (gRPC's stream windows hold
  // dozens of these small batches) still arrive first.
  std::cout << "[faults] all replicas killed: " << prefetched
            << " buffered batches, then UNAVAILABLE after "
            << absl::FormatDuration(absl::Now() - killed) << std::endl;
  EXPECT_GE(absl::Now() - killed, absl::Seconds(1));
  EXPECT_THAT(error,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("within 1s")))
      << error;
  for (const std::string& target : replicas_->targets()) {
    // "<target>: <its last status>" for each one.
    EXPECT_THAT(std::string(error.message()), HasSubstr(target + ": "))
        << target << " missing in: " << error;
  }
  // And the client recovers when a replica comes back.
  ASSERT_TRUE(replicas_->Restart(0).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::StatusOr<const Batch*> batch = client->Next();
  while (!batch.ok() && absl::Now() < deadline) batch = client->Next();
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ((*batch)->source, replicas_->targets()[0]);
}

}  // namespace
}  // namespace inputserve::testing
