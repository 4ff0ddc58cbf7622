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
  };
  for (const Case& c : cases) {
    TrainerOptions options = Valid();
    c.mutate(&options);
    absl::Status s = ValidateTrainerOptions(options);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.flag;
    EXPECT_THAT(s.message(), HasSubstr(c.flag));
  }
}

}  // namespace
}  // namespace inputserve::trainer
