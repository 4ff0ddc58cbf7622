// Shutdown: SIGTERM drains open streams with UNAVAILABLE and exits 0 in time.
#include <signal.h>

#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/server/raw_client.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<ServerProcess> Start(std::vector<std::string> args) {
  args.push_back("--admin_listen=");
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(args);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

TEST(LifecycleTest, SigtermEndsStreamsWithUnavailableAndExitsZero) {
  auto server = Start({"--dataset=synthetic:imagenet", "--batch_size=16",
                       "--image_size=64"});
  ASSERT_NE(server, nullptr);
  auto stub = v1::InputService::NewStub(Connect(server->data_target()));
  BatchReader reader(stub.get(), "drain");
  ReceivedBatch batch;
  ASSERT_TRUE(reader.Next(&batch));

  const absl::Time start = absl::Now();
  kill(server->pid(), SIGTERM);
  int more = 0;
  while (reader.Next(&batch)) ++more;  // whole batches until the drain
  grpc::Status status = reader.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("shutting down"));
  const int exit_code = server->StopWithSignal(0, absl::Seconds(10));
  EXPECT_EQ(exit_code, 0) << server->output();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

// Slack for process start-up noise and exit; AddressSanitizer's exit-time
// leak scan adds ~0.3 s (StalledConsumer...: 3.53 s plain, 3.56-3.89 s ASan).
#if defined(__SANITIZE_ADDRESS__)
constexpr absl::Duration kExitSlack = absl::Milliseconds(1500);
#else
constexpr absl::Duration kExitSlack = absl::Milliseconds(1000);
#endif

// A consumer that stops reading (38.5 MB batches fill every window) keeps
// its stream open until --drain_timeout; the whole shutdown must still end
// about half a second after it. (The /metrics server used to be stopped only
// after the drain, adding up to 2 s: 10.0 s with the default 8 s timeout.)
TEST(LifecycleTest, StalledConsumerIsCancelledAtTheDrainTimeout) {
  auto server = Start({"--dataset=synthetic:imagenet", "--batch_size=256",
                       "--drain_timeout=3s"});
  ASSERT_NE(server, nullptr);
  auto stub = v1::InputService::NewStub(Connect(server->data_target()));
  BatchReader reader(stub.get(), "stalled");
  ReceivedBatch batch;
  ASSERT_TRUE(reader.Next(&batch));
  absl::SleepFor(absl::Seconds(1));  // The server fills the windows.
  const absl::Time start = absl::Now();
  EXPECT_EQ(server->StopWithSignal(SIGTERM, absl::Seconds(10)), 0)
      << server->output();
  const absl::Duration took = absl::Now() - start;
  RecordProperty("exit_after_ms", absl::ToInt64Milliseconds(took));
  EXPECT_GE(took, absl::Seconds(3)) << "the stream was not kept to the end";
  EXPECT_LT(took, absl::Seconds(3.5) + kExitSlack)
      << "drain_timeout 3s + grace 0.5s";
  EXPECT_THAT(server->output(), HasSubstr("drain timeout: cancelling 1 stream"))
      << server->output();
}

TEST(LifecycleTest, SigtermWithIdleServerExitsZeroQuickly) {
  auto server = Start({"--dataset=synthetic:cifar10", "--batch_size=4"});
  ASSERT_NE(server, nullptr);
  const absl::Time start = absl::Now();
  EXPECT_EQ(server->StopWithSignal(SIGTERM, absl::Seconds(10)), 0)
      << server->output();
  // Well inside SPEC.md's 10 s. Nearly all of it is the /metrics HTTP
  // server (civetweb) stopping: its accept loop polls with a 2 s quantum
  // fixed at Debian's compile time, so this takes 0-2 s, 2.5 s under ASan.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(LifecycleTest, SigintAlsoDrains) {
  auto server = Start({"--dataset=synthetic:cifar10", "--batch_size=4"});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->StopWithSignal(SIGINT, absl::Seconds(10)), 0);
}

TEST(LifecycleTest, PortFileHasAllThreePorts) {
  auto server = Start({"--dataset=synthetic:cifar10", "--batch_size=4"});
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->data_port(), 0);
  EXPECT_EQ(server->admin_port(), 0);  // --admin_listen= disables it
  EXPECT_GT(server->metrics_port(), 0);
  EXPECT_TRUE(HttpGet(server->metrics_port(), "/metrics").ok());
}

}  // namespace
}  // namespace inputserve::testing
