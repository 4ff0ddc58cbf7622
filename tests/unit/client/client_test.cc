// The client against in-process fake servers: real-mode streaming, device
// split, errors, reconnects, several targets.
#include "inputserve/client.h"

#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/unit/client/client_test_util.h"
#include "tests/unit/client/fake_input_server.h"

namespace inputserve::testing {
namespace {

constexpr size_t kImageBytesPerExample = 4 * 4 * 3;

std::unique_ptr<FakeInputServer> StartFake(FakeServerOptions o = {}) {
  auto fake = FakeInputServer::Start(std::move(o));
  EXPECT_NE(fake, nullptr);
  return fake;
}

TEST(ClientTest, CreateFailsWithUnavailableWhenNoTargetAnswers) {
  ClientOptions o = FastOptions({"127.0.0.1:1", "127.0.0.1:2"});
  auto client = Client::Create(o);
  ASSERT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find("connecting to 127.0.0.1:1"),
            std::string::npos)
      << client.status();
  EXPECT_NE(client.status().message().find("127.0.0.1:2"), std::string::npos);
}

// Create() does not give up after one failed connection: a server that
// starts within the reconnect window is found (unary_retry.h).
TEST(ClientTest, CreateFindsAServerThatStartsWhileItConnects) {
  auto probe = StartFake();
  const int port = probe->port();
  probe->Shutdown();
  probe.reset();
  std::unique_ptr<FakeInputServer> late;
  std::thread starter([&] {
    absl::SleepFor(absl::Milliseconds(300));
    FakeServerOptions again;
    again.port = port;
    late = FakeInputServer::Start(again);
  });
  ClientOptions o = FastOptions({absl::StrCat("127.0.0.1:", port)});
  o.connect_timeout = absl::Seconds(30);
  auto client = Client::Create(o);
  starter.join();
  ASSERT_NE(late, nullptr) << "could not listen on port " << port;
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE((*client)->Next().ok());
}

TEST(ClientTest, CreateRejectsInvalidOptionsBeforeConnecting) {
  ClientOptions o = FastOptions({});
  EXPECT_EQ(Client::Create(o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o = FastOptions({"127.0.0.1:1"});
  o.prefetch_batches = 0;
  auto client = Client::Create(o);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(client.status().message().find("prefetch_batches"),
            std::string::npos);
}

TEST(ClientTest, CreateRejectsBatchThatDevicesDoNotDivide) {
  auto fake = StartFake();
  ClientOptions o = FastOptions({fake->target()});
  o.num_devices = 3;
  auto client = Client::Create(o);
  ASSERT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(client.status().message());
  EXPECT_NE(message.find("batch size 8"), std::string::npos) << message;
  EXPECT_NE(message.find("num_devices 3"), std::string::npos) << message;
  EXPECT_NE(message.find("6 or 9"), std::string::npos) << message;
}

TEST(ClientTest, CreateRejectsTargetsThatDisagree) {
  auto a = StartFake();
  FakeServerOptions other;
  other.batch_size = 16;
  auto b = StartFake(other);
  auto client = Client::Create(FastOptions({a->target(), b->target()}));
  ASSERT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(client.status().message().find("disagree"), std::string::npos)
      << client.status();
}

TEST(ClientTest, UnsplitHostBatchesMatchTheServer) {
  auto fake = StartFake();
  auto client = Client::Create(FastOptions({fake->target()}));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->batch_size(), 8);
  EXPECT_EQ((*client)->memory_kind(), MemoryKind::kHost);
  uint64_t previous = 0;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    const Batch& b = **batch;
    ASSERT_EQ(b.devices.size(), 1u);
    EXPECT_EQ(b.devices[0].device, -1);
    EXPECT_EQ(b.mode, BatchMode::kReal);
    EXPECT_FALSE(b.from_cache);
    EXPECT_EQ(b.source, fake->target());
    EXPECT_EQ(b.global_batch_size, 8);
    EXPECT_EQ(b.devices[0].tensors[0].shape,
              (std::vector<int64_t>{8, 4, 4, 3}));
    if (i > 0) {
      EXPECT_GT(b.sequence, previous);  // One stream: in order.
    }
    previous = b.sequence;
    ExpectBatchContents(b, 0, b.sequence, 8, kImageBytesPerExample);
  }
  ClientStats s = (*client)->stats();
  EXPECT_EQ(s.batches, 5u);
  EXPECT_GE(s.batches_received, 5u);
  EXPECT_GE(s.bytes_received, 5u * (8 * kImageBytesPerExample + 32));
  EXPECT_GE(s.time_to_first_batch_seconds, 0);
  EXPECT_EQ(s.stream_errors, 0u);
  EXPECT_EQ(s.cache_hits, 0u);
}

TEST(ClientTest, ReportsPrefetchDepthOccupancyAndTimeToFirstBatch) {
  auto fake = StartFake();
  ClientOptions o = FastOptions({fake->target()});
  o.prefetch_batches = 3;
  const absl::Time before = absl::Now();
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  ClientStats s = (*client)->stats();
  EXPECT_EQ(s.prefetch_depth, 3);
  EXPECT_LT(s.time_to_first_batch_seconds, 0);  // Nothing returned yet.
  // Nobody calls Next(): the streams fill the prefetch to its depth and no
  // further, although the caller's slot is free too.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((*client)->stats().prefetch_ready < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  // No further: a short grace lets an extra batch show itself.
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ((*client)->stats().prefetch_ready, 3u);
  ASSERT_TRUE((*client)->Next().ok());
  const absl::Duration elapsed = absl::Now() - before;
  s = (*client)->stats();
  EXPECT_DOUBLE_EQ(s.prefetch_occupancy, 3.0);  // The one Next() saw 3.
  EXPECT_GT(s.time_to_first_batch_seconds, 0);
  EXPECT_LE(s.time_to_first_batch_seconds, absl::ToDoubleSeconds(elapsed));
  const double first = s.time_to_first_batch_seconds;
  ASSERT_TRUE((*client)->Next().ok());
  s = (*client)->stats();
  EXPECT_EQ(s.time_to_first_batch_seconds, first);  // Set once.
  EXPECT_GE(s.prefetch_occupancy, 0.0);
  EXPECT_LE(s.prefetch_occupancy, 3.0);
}

TEST(ClientTest, SplitsTheBatchOverHostDevices) {
  auto fake = StartFake();
  ClientOptions o = FastOptions({fake->target()});
  o.num_devices = 4;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_EQ((*batch)->devices.size(), 4u);
    for (int d = 0; d < 4; ++d) {
      EXPECT_EQ((*batch)->devices[d].device, d);
      EXPECT_EQ((*batch)->devices[d].tensors[0].memory, MemoryKind::kHost);
      EXPECT_EQ((*batch)->devices[d].tensors[0].shape,
                (std::vector<int64_t>{2, 4, 4, 3}));
    }
    ExpectBatchContents(**batch, 0, (*batch)->sequence, 8,
                        kImageBytesPerExample);
  }
}

TEST(ClientTest, MalformedBatchesAreStreamErrorsAndTheClientRecovers) {
  FakeServerOptions fo;
  // Every third batch loses its header: the client must drop the stream,
  // count the error, reconnect and go on with intact batches only.
  fo.mangle = [](uint64_t sequence, std::vector<v1::BatchChunk> chunks) {
    if (sequence % 3 == 1) chunks[0].clear_header();
    return chunks;
  };
  auto fake = StartFake(fo);
  auto client = Client::Create(FastOptions({fake->target()}));
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_NE((*batch)->sequence % 3, 1u);
    ExpectBatchContents(**batch, 0, (*batch)->sequence, 8,
                        kImageBytesPerExample);
  }
  ClientStats s = (*client)->stats();
  EXPECT_GE(s.stream_errors, 1u);
  EXPECT_GE(s.reconnects, 1u);
}

TEST(ClientTest, ReconnectsAfterTheServerRestarts) {
  auto fake = StartFake();
  const int port = fake->port();
  ClientOptions o = FastOptions({fake->target()});
  o.prefetch_batches = 1;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Next().ok());
  fake->Shutdown();
  fake.reset();
  FakeServerOptions again;
  again.port = port;
  again.server_id = 5;  // Tells the new server's batches apart.
  fake = StartFake(again);
  ASSERT_NE(fake, nullptr);
  bool saw_new_server = false;
  // Batches of the old server already buffered by gRPC come first.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!saw_new_server && absl::Now() < deadline) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    const Batch& b = **batch;
    const TensorView* label = b.devices[0].Find("label");
    int32_t first;
    std::memcpy(&first, label->data, 4);
    saw_new_server = first / 100000000 == 5;
    if (saw_new_server) {
      ExpectBatchContents(b, 5, b.sequence, 8, kImageBytesPerExample);
    }
  }
  EXPECT_TRUE(saw_new_server);
  EXPECT_GE((*client)->stats().reconnects, 1u);
}

TEST(ClientTest, MergesBatchesFromSeveralTargets) {
  FakeServerOptions o1, o2;
  o1.server_id = 1;
  o2.server_id = 2;
  auto a = StartFake(o1);
  auto b = StartFake(o2);
  ClientOptions o = FastOptions({a->target(), b->target()});
  o.num_devices = 2;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  std::set<std::string> sources;
  // Whichever server connects first fills the first slots; the other one
  // must get its turn soon after (slots are granted first come, first served).
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (sources.size() < 2 && absl::Now() < deadline) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    const int id = (*batch)->source == a->target() ? 1 : 2;
    ExpectBatchContents(**batch, id, (*batch)->sequence, 8,
                        kImageBytesPerExample);
    sources.insert((*batch)->source);
  }
  EXPECT_EQ(sources.size(), 2u)
      << "streams a=" << a->active_streams() << " b=" << b->active_streams()
      << " sent a=" << a->batches_sent() << " b=" << b->batches_sent();
}

TEST(ClientTest, OpensTheRequestedConnectionsPerTarget) {
  auto fake = StartFake();
  ClientOptions o = FastOptions({fake->target()});
  o.connections_per_target = 3;
  o.prefetch_batches = 4;
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (fake->active_streams() < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(fake->active_streams(), 3);
  ASSERT_TRUE((*client)->Next().ok());
}

TEST(ClientTest, NextIsUnavailableAfterTheTimeoutAndNamesTargets) {
  auto fake = StartFake();
  const std::string target = fake->target();
  ClientOptions o = FastOptions({target});
  o.unavailable_timeout = absl::Milliseconds(500);
  auto client = Client::Create(o);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Next().ok());
  fake.reset();  // Gone for good.
  absl::Status error;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (error.ok() && absl::Now() < deadline) {
    error = (*client)->Next().status();  // Buffered batches come first.
  }
  ASSERT_EQ(error.code(), absl::StatusCode::kUnavailable) << error;
  EXPECT_NE(error.message().find(target), std::string::npos) << error;
  EXPECT_NE(error.message().find("within 500ms"), std::string::npos) << error;
  EXPECT_GE((*client)->stats().stream_errors, 1u);
  EXPECT_GT((*client)->stats().wait_seconds, 0.4);
}

TEST(ClientTest, DestroysCleanlyWhileStreaming) {
  auto fake = StartFake();
  for (int i = 0; i < 5; ++i) {
    ClientOptions o = FastOptions({fake->target()});
    o.connections_per_target = 2;
    auto client = Client::Create(o);
    ASSERT_TRUE(client.ok()) << client.status();
    if (i % 2 == 0) {
      ASSERT_TRUE((*client)->Next().ok());
    }
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (fake->active_streams() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(fake->active_streams(), 0);
}

}  // namespace
}  // namespace inputserve::testing
