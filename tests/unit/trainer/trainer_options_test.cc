#include "trainer_example/trainer_options.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace inputserve::trainer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseServerListTest, SplitsAndTrims) {
  absl::StatusOr<std::vector<std::string>> servers =
      ParseServerList("127.0.0.1:1, localhost:2,dns:///svc.ns:50051");
  ASSERT_TRUE(servers.ok()) << servers.status();
  EXPECT_THAT(*servers,
              ElementsAre("127.0.0.1:1", "localhost:2", "dns:///svc.ns:50051"));
}

TEST(ParseServerListTest, RejectsEmptyListEntryAndMissingPort) {
  for (const char* bad : {"", "  ", "a:1,,b:2", "a:1,", "localhost", "host:"}) {
    absl::StatusOr<std::vector<std::string>> servers = ParseServerList(bad);
    EXPECT_EQ(servers.status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << bad << "'";
    EXPECT_THAT(servers.status().message(), HasSubstr("--servers")) << bad;
  }
}

TrainerOptions Valid() {
  TrainerOptions options;
  options.servers = {"127.0.0.1:1"};
  options.steps = 10;
  return options;
}

TEST(ValidateTrainerOptionsTest, AcceptsDefaults) {
  EXPECT_TRUE(ValidateTrainerOptions(Valid()).ok());
}

TEST(ValidateTrainerOptionsTest, NamesTheBadFlag) {
  struct Case {
    void (*mutate)(TrainerOptions*);
    const char* flag;
  };
  const Case cases[] = {
      {[](TrainerOptions* o) { o->steps = 0; }, "--steps must be > 0, got 0"},
      {[](TrainerOptions* o) { o->steps = -3; }, "--steps"},
      {[](TrainerOptions* o) { o->num_gpus = -1; }, "--num_gpus must be >= 0"},
      {[](TrainerOptions* o) { o->servers.clear(); }, "--servers"},
      {[](TrainerOptions* o) { o->log_every = 0; }, "--log_every"},
      {[](TrainerOptions* o) { o->learning_rate = 0; }, "--learning_rate"},
      {[](TrainerOptions* o) { o->learning_rate = NAN; }, "--learning_rate"},
      {[](TrainerOptions* o) { o->num_classes = -1; }, "--num_classes"},
      {[](TrainerOptions* o) { o->feature_side = 0; }, "--feature_side"},
      {[](TrainerOptions* o) { o->world_size = 0; }, "--world_size"},
      {[](TrainerOptions* o) { o->world_size = int64_t{1} << 32; },
       "--world_size"},
      {[](TrainerOptions* o) {
         o->ordering = Ordering::kDeterministic;
         o->world_size = 4;
         o->rank = 4;
       },
       "--rank must be in [0, --world_size) = [0, 4), got 4"},
      {[](TrainerOptions* o) { o->rank = -1; }, "--rank"},
      {[](TrainerOptions* o) { o->start_step = -1; }, "--start_step"},
      {[](TrainerOptions* o) { o->num_epochs = -2; }, "--num_epochs"},
      // Planning flags without the deterministic order.
      {[](TrainerOptions* o) {
         o->world_size = 2;
         o->rank = 1;
       },
       "--rank needs --ordering=deterministic"},
      {[](TrainerOptions* o) { o->world_size = 2; },
       "--world_size needs --ordering=deterministic"},
      {[](TrainerOptions* o) { o->start_step = 5; },
       "--start_step needs --ordering=deterministic"},
      {[](TrainerOptions* o) { o->num_epochs = 1; },
       "--num_epochs needs --ordering=deterministic"},
  };
  for (const Case& c : cases) {
    TrainerOptions options = Valid();
    c.mutate(&options);
    absl::Status s = ValidateTrainerOptions(options);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.flag;
    EXPECT_THAT(s.message(), HasSubstr(c.flag));
  }
}

TEST(ValidateTrainerOptionsTest, AcceptsADeterministicRank) {
  TrainerOptions options = Valid();
  options.ordering = Ordering::kDeterministic;
  options.rank = 2;
  options.world_size = 3;
  options.start_step = 1000;
  options.num_epochs = 1;
  options.drop_remainder = false;
  EXPECT_TRUE(ValidateTrainerOptions(options).ok());
}

TEST(ParseOrderingTest, KnowsBothOrdersAndNamesTheFlag) {
  EXPECT_EQ(*ParseOrdering("arrival"), Ordering::kArrival);
  EXPECT_EQ(*ParseOrdering("deterministic"), Ordering::kDeterministic);
  for (const char* bad : {"", "Deterministic", "random"}) {
    absl::StatusOr<Ordering> o = ParseOrdering(bad);
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(o.status().message(),
                HasSubstr("--ordering must be arrival or deterministic"));
  }
}

}  // namespace
}  // namespace inputserve::trainer
