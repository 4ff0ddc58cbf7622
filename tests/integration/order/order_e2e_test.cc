// The deterministic data order end to end: sharded inputserve-server
// processes on loopback and trainer_example runs writing --digest_file.
// Digests repeat across runs, fresh servers, decode thread counts and
// resumes; a SIGKILLed replica (failing over to its twin, or restarted on
// its port) changes nothing; evaluation epochs deliver every example once.
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/data_order.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/sources/example_proto.h"
#include "server/sources/tfrecord.h"
#include "server/tools/datagen.h"
#include "tests/testing/server_process.h"

namespace inputserve {
namespace {

using testing::BackgroundCommand;
using testing::BinPath;
using testing::CommandResult;
using testing::RunCommand;
using testing::ServerProcess;

constexpr int kShards = 3;
// CIFAR-10 for the digests: 3 files of 128 records, one file per shard, so
// every shard has 4 full batches of 32 and a world-size-1 epoch 12 steps.
constexpr int kCifarBatch = 32;
constexpr int kCifarExamples = 384;
constexpr uint64_t kCifarShardExamples = 128;
// Long enough that a replica dies while its shard still has batches to
// send: each shard's 300 batches (29 MB) are more than a server can write
// ahead into the transport's buffers (about 17 MB seen).
constexpr int kSteps = 900;
// TFRecord for evaluation: one file, so shard k owns the records r with
// r % 3 == k (34, 33, 33); label = record number, so labels name examples.
constexpr int kEvalExamples = 100;
constexpr int kEvalBatch = 8;

std::string* cifar_dir = nullptr;
std::string* eval_dir = nullptr;

// Writes kEvalExamples small JPEG tf.train.Examples whose label is their
// record number.
absl::Status WriteUniqueLabelTfrecord(const std::string& dir) {
  DatagenOptions options;
  options.out_dir = dir;
  options.seed = 11;
  options.min_size = 40;
  options.max_size = 48;
  options.grayscale_fraction = 0;
  absl::StatusOr<SampleImageMaker> maker = SampleImageMaker::Create(options);
  if (!maker.ok()) return maker.status();
  std::string file;
  for (int i = 0; i < kEvalExamples; ++i) {
    absl::StatusOr<SampleImage> image = maker->Make(i, /*allow_png=*/false);
    if (!image.ok()) return image.status();
    ExampleFeatures features;
    features.bytes = {{"image/encoded", image->bytes}};
    features.int64s = {{"image/class/label", i}};
    AppendTfrecord(EncodeExample(features), &file);
  }
  testing::WriteFileOrDie(dir + "/eval-00000-of-00001", file);
  return absl::OkStatus();
}

// One replica: its shard, the flags it was started with and its fixed data
// address (a restart reuses the port).
struct Replica {
  std::vector<std::string> args;
  std::unique_ptr<ServerProcess> process;
  std::string target;
};

absl::StatusOr<Replica> StartReplica(const std::string& dataset, int shard,
                                     int batch_size,
                                     std::vector<std::string> extra) {
  Replica r;
  r.args = {"--dataset=" + dataset,
            absl::StrCat("--num_shards=", kShards),
            absl::StrCat("--shard_index=", shard),
            absl::StrCat("--batch_size=", batch_size),
            "--seed=7",
            "--admin_listen="};
  r.args.insert(r.args.end(), extra.begin(), extra.end());
  absl::StatusOr<std::unique_ptr<ServerProcess>> p =
      ServerProcess::Start(r.args);
  if (!p.ok()) return p.status();
  r.process = *std::move(p);
  r.target = r.process->data_target();
  return r;
}

// Starts the killed replica again on its old port.
absl::Status Restart(Replica* r) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> p =
      testing::StartOnPort(r->args, r->target);
  if (!p.ok()) return p.status();
  r->process = *std::move(p);
  return absl::OkStatus();
}

// A CIFAR-10 replica of `shard` (augmentation on, so its seeding is part of
// what the digests compare).
absl::StatusOr<Replica> StartCifarReplica(int shard, int decode_threads) {
  return StartReplica(
      "cifar10:" + *cifar_dir, shard, kCifarBatch,
      {absl::StrCat("--decode_threads=", decode_threads), "--augment=true"});
}

// Replicas of shards 0..kShards-1; `start` makes one.
absl::StatusOr<std::vector<Replica>> StartCluster(
    const std::function<absl::StatusOr<Replica>(int shard)>& start) {
  std::vector<Replica> cluster;
  for (int s = 0; s < kShards; ++s) {
    absl::StatusOr<Replica> r = start(s);
    if (!r.ok()) return r.status();
    cluster.push_back(*std::move(r));
  }
  return cluster;
}

absl::StatusOr<std::vector<Replica>> StartCifarCluster(int decode_threads) {
  return StartCluster(
      [&](int s) { return StartCifarReplica(s, decode_threads); });
}

std::string Servers(const std::vector<Replica>& replicas) {
  std::vector<std::string> targets;
  for (const Replica& r : replicas) targets.push_back(r.target);
  return absl::StrJoin(targets, ",");
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// trainer_example's argv: deterministic order, a digest file in `dir`.
std::vector<std::string> TrainerArgv(const std::string& servers,
                                     const std::string& digest,
                                     std::vector<std::string> flags) {
  std::vector<std::string> argv = {
      BinPath("trainer_example"), "--servers=" + servers,
      "--ordering=deterministic", "--digest_file=" + digest,
      "--log_every=100000",       "--unavailable_timeout=60s"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

// Runs trainer_example to completion; its digest lines, or its output as
// the error when it failed.
absl::StatusOr<std::vector<std::string>> RunTrainer(
    const std::string& servers, std::vector<std::string> flags) {
  const std::string digest = testing::MakeTempDir("order_digest") + "/d.txt";
  CommandResult r = RunCommand(TrainerArgv(servers, digest, std::move(flags)),
                               absl::Seconds(120));
  if (r.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("trainer_example exited ", r.exit_code, ":\n", r.output));
  }
  return ReadLines(digest);
}

struct DigestLine {
  uint64_t step = 0;
  uint64_t epoch = 0;
  std::string sha;
  std::vector<int64_t> labels;
};

DigestLine Parse(const std::string& line) {
  DigestLine d;
  std::vector<std::string> f = absl::StrSplit(line, ' ');
  EXPECT_EQ(f.size(), 4u) << line;
  if (f.size() != 4) return d;
  EXPECT_TRUE(absl::SimpleAtoi(f[0], &d.step)) << line;
  EXPECT_TRUE(absl::SimpleAtoi(f[1], &d.epoch)) << line;
  d.sha = f[2];
  for (absl::string_view l : absl::StrSplit(f[3], ',', absl::SkipEmpty())) {
    int64_t v = -1;
    EXPECT_TRUE(absl::SimpleAtoi(l, &v)) << line;
    d.labels.push_back(v);
  }
  return d;
}

// How many lines `path` has now.
size_t LineCount(const std::string& path) { return ReadLines(path).size(); }

// Waits until `path` has at least `lines` lines (the trainer is mid-run).
bool WaitForLines(const std::string& path, size_t lines,
                  BackgroundCommand* trainer) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    if (LineCount(path) >= lines) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  ADD_FAILURE() << "the trainer never wrote " << lines << " digest lines:\n"
                << trainer->output();
  return false;
}

// Waits until the digest file stops growing for `quiet` (the trainer waits
// for a step of the dead shard).
void WaitUntilStalled(const std::string& path, absl::Duration quiet) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  size_t seen = LineCount(path);
  absl::Time since = absl::Now();
  while (absl::Now() < deadline && absl::Now() - since < quiet) {
    absl::SleepFor(absl::Milliseconds(20));
    const size_t now = LineCount(path);
    if (now != seen) {
      seen = now;
      since = absl::Now();
    }
  }
}

// One sample of a replica's /metrics.
absl::StatusOr<double> Metric(ServerProcess& server,
                              const std::string& sample) {
  absl::StatusOr<std::string> text =
      testing::HttpGet(server.metrics_port(), "/metrics");
  if (!text.ok()) return text.status();
  return testing::MetricValue(*text, sample);
}

constexpr char kOpenStreams[] = "inputserve_deterministic_streams";
constexpr char kBatchesBuilt[] = "inputserve_deterministic_batches_built_total";

class OrderE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cifar_dir = new std::string(testing::MakeTempDir("order_cifar"));
    CommandResult gen = RunCommand(
        {BinPath("inputserve-datagen"), "--format=cifar10",
         "--out=" + *cifar_dir, absl::StrCat("--num_examples=", kCifarExamples),
         "--num_files=3", "--seed=5"});
    ASSERT_EQ(gen.exit_code, 0) << gen.output;
    absl::StatusOr<std::vector<Replica>> cluster = StartCifarCluster(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = new std::vector<Replica>(*std::move(cluster));
    absl::StatusOr<std::vector<std::string>> reference =
        RunTrainer(Servers(*cluster_), {absl::StrCat("--steps=", kSteps)});
    ASSERT_TRUE(reference.ok()) << reference.status();
    reference_ = new std::vector<std::string>(*std::move(reference));
  }

  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(reference_, nullptr) << "the suite's reference run failed";
    ASSERT_EQ(reference_->size(), static_cast<size_t>(kSteps));
  }

  // A trainer on `replicas` paused mid-run while `fault` breaks a shard,
  // then resumed, and `repair` (if any) run while it continues; its digest
  // lines.
  std::vector<std::string> RunThroughFault(
      const std::vector<Replica>& replicas, const std::function<void()>& fault,
      const std::function<void(const std::string& digest)>& repair = nullptr) {
    const std::string digest = testing::MakeTempDir("order_fault") + "/d.txt";
    std::unique_ptr<BackgroundCommand> trainer =
        BackgroundCommand::Start(TrainerArgv(
            Servers(replicas), digest, {absl::StrCat("--steps=", kSteps)}));
    if (!WaitForLines(digest, 5, trainer.get())) return {};
    // Frozen, the trainer cannot race the fault: it resumes into a dead
    // stream with most of the run still ahead.
    kill(trainer->pid(), SIGSTOP);
    fault();
    kill(trainer->pid(), SIGCONT);
    if (repair) repair(digest);
    const int rc = trainer->Wait(absl::Seconds(120));
    EXPECT_EQ(rc, 0) << trainer->output();
    return ReadLines(digest);
  }

  static std::vector<Replica>* cluster_;
  static std::vector<std::string>* reference_;
};

std::vector<Replica>* OrderE2eTest::cluster_ = nullptr;
std::vector<std::string>* OrderE2eTest::reference_ = nullptr;

TEST_F(OrderE2eTest, ReferenceRunFollowsThePlan) {
  absl::StatusOr<RankPlan> plan = RankPlan::Create(
      ShardLayout{kCifarBatch,
                  std::vector<uint64_t>(kShards, kCifarShardExamples)},
      0, 1, /*drop_remainder=*/true);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->steps_per_epoch(), 12u);
  std::set<std::string> distinct;
  for (int t = 0; t < kSteps; ++t) {
    const DigestLine d = Parse((*reference_)[t]);
    EXPECT_EQ(d.step, static_cast<uint64_t>(t));
    EXPECT_EQ(d.epoch, plan->At(t).epoch);
    EXPECT_EQ(d.labels.size(), static_cast<size_t>(kCifarBatch));
    distinct.insert(d.sha);
  }
  // Every step's batch differs, across epochs too (a new permutation and
  // new augmentation each epoch).
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kSteps));
}

TEST_F(OrderE2eTest, DigestsRepeatAcrossRunsFreshServersAndDecodeThreads) {
  absl::StatusOr<std::vector<std::string>> again =
      RunTrainer(Servers(*cluster_), {absl::StrCat("--steps=", kSteps)});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *reference_) << "second run on the same servers";

  for (int threads : {1, 2}) {
    absl::StatusOr<std::vector<Replica>> fresh = StartCifarCluster(threads);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    // Two host devices: the digest covers the whole step, however split.
    absl::StatusOr<std::vector<std::string>> lines = RunTrainer(
        Servers(*fresh), {absl::StrCat("--steps=", kSteps), "--num_gpus=2"});
    ASSERT_TRUE(lines.ok()) << lines.status();
    EXPECT_EQ(*lines, *reference_)
        << "fresh servers with --decode_threads=" << threads;
  }
}

TEST_F(OrderE2eTest, ResumeAtStepKYieldsTheUninterruptedRunFromK) {
  constexpr int kResume = 137;
  absl::StatusOr<std::vector<std::string>> resumed = RunTrainer(
      Servers(*cluster_), {absl::StrCat("--start_step=", kResume),
                           absl::StrCat("--steps=", kSteps - kResume)});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(*resumed, std::vector<std::string>(reference_->begin() + kResume,
                                               reference_->end()));

  // Rank 1 of 2: a resume mid-epoch equals its own uninterrupted run.
  absl::StatusOr<std::vector<std::string>> rank1 = RunTrainer(
      Servers(*cluster_), {"--rank=1", "--world_size=2", "--steps=60"});
  ASSERT_TRUE(rank1.ok()) << rank1.status();
  absl::StatusOr<std::vector<std::string>> rank1_resumed = RunTrainer(
      Servers(*cluster_),
      {"--rank=1", "--world_size=2", "--start_step=25", "--steps=35"});
  ASSERT_TRUE(rank1_resumed.ok()) << rank1_resumed.status();
  EXPECT_EQ(*rank1_resumed,
            std::vector<std::string>(rank1->begin() + 25, rank1->end()));
}

TEST_F(OrderE2eTest, KilledReplicaFailsOverToItsTwinWithNothingLost) {
  absl::StatusOr<std::vector<Replica>> cluster = StartCifarCluster(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  absl::StatusOr<Replica> twin = StartCifarReplica(1, 1);
  ASSERT_TRUE(twin.ok()) << twin.status();
  std::vector<Replica>& replicas = *cluster;
  replicas.push_back(*std::move(twin));
  // Replicas 1 and 3 serve shard 1; the client streams from one of them.
  int killed = -1, survivor = -1;
  double survivor_built = 0;
  std::vector<std::string> lines = RunThroughFault(replicas, [&] {
    absl::StatusOr<double> open = Metric(*replicas[1].process, kOpenStreams);
    ASSERT_TRUE(open.ok()) << open.status();
    killed = *open > 0 ? 1 : 3;
    survivor = 4 - killed;
    survivor_built =
        Metric(*replicas[survivor].process, kBatchesBuilt).value_or(-1);
    replicas[killed].process->Kill();
  });
  EXPECT_EQ(lines, *reference_);
  ASSERT_GE(survivor, 0);
  // The rest of shard 1 came from the twin.
  absl::StatusOr<double> built =
      Metric(*replicas[survivor].process, kBatchesBuilt);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_GT(*built, survivor_built);
}

TEST_F(OrderE2eTest, ReplicaRestartedOnItsPortCostsNoBatch) {
  absl::StatusOr<std::vector<Replica>> cluster = StartCifarCluster(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  std::vector<Replica>& replicas = *cluster;
  size_t stalled_at = 0;
  std::vector<std::string> lines = RunThroughFault(
      replicas, [&] { replicas[1].process->Kill(); },
      [&](const std::string& digest) {
        // The trainer runs into the gap and waits at shard 1's next step
        // until the replica is back on its port.
        WaitUntilStalled(digest, absl::Milliseconds(500));
        stalled_at = LineCount(digest);
        absl::Status restarted = Restart(&replicas[1]);
        EXPECT_TRUE(restarted.ok()) << restarted;
      });
  EXPECT_LT(stalled_at, static_cast<size_t>(kSteps))
      << "the trainer never waited for the dead shard";
  EXPECT_EQ(lines, *reference_);
}

TEST_F(OrderE2eTest, SyntheticModeStepsDoNotConsumeTheRealOrder) {
  const std::string dir = testing::MakeTempDir("order_synthetic");
  testing::WriteFileOrDie(dir + "/token", "order-token\n");
  absl::StatusOr<std::vector<Replica>> cluster = StartCluster([&](int s) {
    return StartReplica(
        "cifar10:" + *cifar_dir, s, kCifarBatch,
        {"--decode_threads=1", "--augment=true", "--admin_listen=127.0.0.1:0",
         "--admin_token_file=" + dir + "/token"});
  });
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto set_mode = [&](const std::string& mode) {
    for (Replica& r : *cluster) {
      CommandResult c = RunCommand(
          {BinPath("inputserve-admin"), "--server=" + r.process->admin_target(),
           "--token_file=" + dir + "/token", "set-mode", mode});
      ASSERT_EQ(c.exit_code, 0) << c.output;
    }
  };
  const std::string digest = dir + "/d.txt";
  std::unique_ptr<BackgroundCommand> trainer =
      BackgroundCommand::Start(TrainerArgv(Servers(*cluster), digest,
                                           {absl::StrCat("--steps=", kSteps)}));
  ASSERT_TRUE(WaitForLines(digest, 5, trainer.get()));
  set_mode("synthetic");
  // Once the trainer reads from the cache, some hundred steps, then back.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (trainer->output().find("-> synthetic") == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_THAT(trainer->output(), ::testing::HasSubstr("-> synthetic"));
  ASSERT_TRUE(WaitForLines(digest, LineCount(digest) + 100, trainer.get()));
  set_mode("real");
  ASSERT_EQ(trainer->Wait(absl::Seconds(120)), 0) << trainer->output();
  EXPECT_THAT(trainer->output(), ::testing::HasSubstr("synthetic -> real"));

  // A cached batch carries the step of the next real batch, which follows
  // it: per step the last line is the real one, and the real steps run on
  // exactly as in the uninterrupted run.
  const std::vector<std::string> lines = ReadLines(digest);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kSteps));
  std::vector<std::string> real;
  uint64_t previous = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const uint64_t step = Parse(lines[i]).step;
    ASSERT_GE(step, previous) << "line " << i;
    if (i > 0 && step == previous) real.pop_back();
    real.push_back(lines[i]);
    previous = step;
  }
  EXPECT_LT(real.size(), lines.size()) << "no step came from the cache";
  // The last step may have been served from the cache only.
  real.pop_back();
  ASSERT_LE(real.size(), reference_->size());
  EXPECT_EQ(real, std::vector<std::string>(reference_->begin(),
                                           reference_->begin() + real.size()));
}

// The labels of eval_dir's records are their numbers, so a rank's digest
// lines say exactly which examples it got.
class EvaluationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    eval_dir = new std::string(testing::MakeTempDir("order_eval"));
    absl::Status written = WriteUniqueLabelTfrecord(*eval_dir);
    ASSERT_TRUE(written.ok()) << written;
  }

  // Runs ranks 0..world_size-1 side by side; each rank's parsed lines.
  std::vector<std::vector<DigestLine>> RunRanks(
      const std::vector<Replica>& replicas, int world_size,
      std::vector<std::string> flags) {
    std::vector<std::string> digests;
    std::vector<std::unique_ptr<BackgroundCommand>> trainers;
    for (int r = 0; r < world_size; ++r) {
      digests.push_back(testing::MakeTempDir("order_eval_rank") + "/d.txt");
      std::vector<std::string> f = flags;
      f.push_back(absl::StrCat("--rank=", r));
      f.push_back(absl::StrCat("--world_size=", world_size));
      f.push_back("--steps=100000");
      trainers.push_back(BackgroundCommand::Start(
          TrainerArgv(Servers(replicas), digests.back(), f)));
    }
    std::vector<std::vector<DigestLine>> ranks(world_size);
    for (int r = 0; r < world_size; ++r) {
      const int rc = trainers[r]->Wait(absl::Seconds(120));
      EXPECT_EQ(rc, 0) << "rank " << r << " of " << world_size << ":\n"
                       << trainers[r]->output();
      // The run ended at its epochs, early and by itself.
      EXPECT_THAT(trainers[r]->output(),
                  ::testing::HasSubstr("epochs are over"));
      for (const std::string& line : ReadLines(digests[r])) {
        ranks[r].push_back(Parse(line));
      }
    }
    return ranks;
  }

  static absl::StatusOr<std::vector<Replica>> StartEvalCluster() {
    return StartCluster([](int s) {
      return StartReplica(
          "imagenet:" + *eval_dir + "/eval-*", s, kEvalBatch,
          {"--decode_threads=1", "--augment=false", "--image_size=32"});
    });
  }

  static RankPlan Plan(int rank, int world_size, bool drop_remainder) {
    absl::StatusOr<RankPlan> plan = RankPlan::Create(
        ShardLayout{kEvalBatch, {34, 33, 33}}, static_cast<uint32_t>(rank),
        static_cast<uint32_t>(world_size), drop_remainder);
    EXPECT_TRUE(plan.ok()) << plan.status();
    return *plan;
  }
};

TEST_F(EvaluationTest, OneEpochDeliversEveryExampleExactlyOnceOverTheRanks) {
  absl::StatusOr<std::vector<Replica>> cluster = StartEvalCluster();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  for (int world_size = 1; world_size <= 5; ++world_size) {
    SCOPED_TRACE(absl::StrCat("world_size ", world_size));
    std::vector<std::vector<DigestLine>> ranks = RunRanks(
        *cluster, world_size, {"--num_epochs=1", "--drop_remainder=false"});
    std::vector<int64_t> seen;
    for (int r = 0; r < world_size; ++r) {
      const RankPlan plan = Plan(r, world_size, false);
      ASSERT_EQ(ranks[r].size(), plan.steps_per_epoch()) << "rank " << r;
      for (size_t t = 0; t < ranks[r].size(); ++t) {
        const DigestLine& d = ranks[r][t];
        EXPECT_EQ(d.step, t);
        EXPECT_EQ(d.epoch, 0u);
        // Short last batches of a shard keep every example.
        EXPECT_EQ(d.labels.size(), plan.At(t).size) << "step " << t;
        seen.insert(seen.end(), d.labels.begin(), d.labels.end());
      }
    }
    std::sort(seen.begin(), seen.end());
    std::vector<int64_t> all(kEvalExamples);
    for (int i = 0; i < kEvalExamples; ++i) all[i] = i;
    EXPECT_EQ(seen, all);
  }
}

TEST_F(EvaluationTest, TrainingGivesEveryRankEqualFullBatchesNoneTwice) {
  absl::StatusOr<std::vector<Replica>> cluster = StartEvalCluster();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  constexpr int kEpochs = 2;
  for (int world_size = 1; world_size <= 5; ++world_size) {
    SCOPED_TRACE(absl::StrCat("world_size ", world_size));
    std::vector<std::vector<DigestLine>> ranks = RunRanks(
        *cluster, world_size,
        {absl::StrCat("--num_epochs=", kEpochs), "--drop_remainder=true"});
    const uint64_t per_epoch = Plan(0, world_size, true).steps_per_epoch();
    std::map<uint64_t, std::vector<int64_t>> by_epoch;
    for (int r = 0; r < world_size; ++r) {
      ASSERT_EQ(ranks[r].size(), kEpochs * per_epoch) << "rank " << r;
      for (const DigestLine& d : ranks[r]) {
        EXPECT_EQ(d.labels.size(), static_cast<size_t>(kEvalBatch));
        EXPECT_EQ(d.epoch, d.step / per_epoch);
        by_epoch[d.epoch].insert(by_epoch[d.epoch].end(), d.labels.begin(),
                                 d.labels.end());
      }
    }
    ASSERT_EQ(by_epoch.size(), static_cast<size_t>(kEpochs));
    for (auto& [epoch, labels] : by_epoch) {
      std::set<int64_t> distinct(labels.begin(), labels.end());
      EXPECT_EQ(distinct.size(), labels.size())
          << "an example twice in epoch " << epoch;
      EXPECT_EQ(labels.size(), world_size * per_epoch * kEvalBatch);
    }
  }
}

// trainer_example refuses what cannot work, naming the flag or the server's
// reason, and exits 1 without a SUMMARY.
TEST(OrderTrainerFlagsTest, BadOrderFlagsAndServersFailClearly) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> synthetic =
      ServerProcess::Start(
          {"--dataset=synthetic:cifar10", "--batch_size=8", "--admin_listen="});
  ASSERT_TRUE(synthetic.ok()) << synthetic.status();
  const std::string servers = "--servers=" + (*synthetic)->data_target();
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const Case cases[] = {
      {{"--ordering=random"}, "--ordering must be arrival or deterministic"},
      {{"--rank=1", "--world_size=2"}, "--rank needs --ordering=deterministic"},
      {{"--ordering=deterministic", "--rank=2", "--world_size=2"},
       "--rank must be in [0, --world_size)"},
      {{"--ordering=deterministic", "--digest_file=/nonexistent-dir/d.txt"},
       "--digest_file=/nonexistent-dir/d.txt"},
      // No fixed epoch: the server serves arrival order only.
      {{"--ordering=deterministic"}, "FAILED_PRECONDITION"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {BinPath("trainer_example"), servers,
                                     "--steps=3"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    CommandResult r = RunCommand(argv, absl::Seconds(60));
    EXPECT_EQ(r.exit_code, 1) << absl::StrJoin(c.flags, " ") << "\n"
                              << r.output;
    EXPECT_THAT(r.output, ::testing::HasSubstr("trainer_example: error: "));
    EXPECT_THAT(r.output, ::testing::HasSubstr(c.message));
    EXPECT_THAT(r.output, ::testing::Not(::testing::HasSubstr("SUMMARY")));
  }
}

}  // namespace
}  // namespace inputserve
