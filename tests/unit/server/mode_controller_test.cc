#include "server/mode_controller.h"

#include <vector>

#include "gtest/gtest.h"

namespace inputserve {
namespace {

TEST(ModeControllerTest, GenerationCountsChangesOnly) {
  ModeController mode(ServingMode::kReal);
  EXPECT_EQ(mode.Get().mode, ServingMode::kReal);
  EXPECT_EQ(mode.Get().generation, 1u);
  EXPECT_EQ(mode.Set(ServingMode::kReal).generation, 1u);
  ModeState s = mode.Set(ServingMode::kSynthetic);
  EXPECT_EQ(s.mode, ServingMode::kSynthetic);
  EXPECT_EQ(s.generation, 2u);
  EXPECT_EQ(mode.Set(ServingMode::kSynthetic).generation, 2u);
  EXPECT_EQ(mode.Set(ServingMode::kReal).generation, 3u);
  EXPECT_GT(mode.Get().changed_unix_micros, 0);
}

TEST(ModeControllerTest, NotifiesSubscribersOfEveryChangeInOrder) {
  ModeController mode(ServingMode::kSynthetic);
  std::vector<ModeState> seen;
  const uint64_t id =
      mode.Subscribe([&seen](const ModeState& s) { seen.push_back(s); });
  mode.Set(ServingMode::kReal);
  mode.Set(ServingMode::kReal);  // no change, no notification
  mode.Set(ServingMode::kSynthetic);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].mode, ServingMode::kReal);
  EXPECT_EQ(seen[0].generation, 2u);
  EXPECT_EQ(seen[1].mode, ServingMode::kSynthetic);
  EXPECT_EQ(seen[1].generation, 3u);
  mode.Unsubscribe(id);
  mode.Set(ServingMode::kReal);
  EXPECT_EQ(seen.size(), 2u);
}

}  // namespace
}  // namespace inputserve
