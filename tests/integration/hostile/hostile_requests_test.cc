// Hostile input on the data port: bad request bytes on every method, unknown
// methods, oversized messages and metadata, and raw garbage on the TCP port
// (HTTP/1, random bytes, TLS to a plaintext port, broken HTTP/2). Each case
// has its exact expected outcome; after the table the same server process is
// still up and serves the next good client.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "inputserve/v1/input_service.pb.h"
#include "tests/integration/hostile/hostile_calls.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kStreamBatches[] = "/inputserve.v1.InputService/StreamBatches";
constexpr char kDatasetInfo[] = "/inputserve.v1.InputService/GetDatasetInfo";
constexpr char kWatchMode[] = "/inputserve.v1.InputService/WatchMode";

// Bytes that are not a protobuf message: a varint that never ends.
const std::string& Garbage() {
  static const std::string* bytes =
      new std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);
  return *bytes;
}

std::string StreamRequest(const std::string& consumer_id) {
  v1::StreamBatchesRequest r;
  r.set_consumer_id(consumer_id);
  return r.SerializeAsString();
}

struct BadCall {
  const char* name;
  std::string method;
  std::string request;
  Metadata metadata;
  grpc::StatusCode code;
  std::string message;  // Must appear in the status message.
  // Over the header size limit the server rejects the stream and may close
  // the connection at once; the client then sees UNAVAILABLE instead.
  grpc::StatusCode or_code = grpc::StatusCode::OK;
};

std::vector<BadCall> BadCalls() {
  // A proto3 string must be UTF-8; write the field by hand (tag 1, length 2).
  const std::string bad_utf8("\x0a\x02\xc3\x28", 4);
  // Field 99 (varint) is unknown to GetDatasetInfoRequest: ignored, as proto3
  // requires for forward compatibility.
  const std::string unknown_field("\x98\x06\x01", 3);
  return {
      {"consumer_id_257_bytes",
       kStreamBatches,
       StreamRequest(std::string(257, 'c')),
       {},
       grpc::StatusCode::INVALID_ARGUMENT,
       "consumer_id: length 257 exceeds the maximum of 256 bytes"},
      {"consumer_id_1_mib",
       kStreamBatches,
       StreamRequest(std::string(1 << 20, 'c')),
       {},
       grpc::StatusCode::INVALID_ARGUMENT,
       "consumer_id: length 1048576"},
      {"request_over_4_mib",
       kStreamBatches,
       StreamRequest(std::string(5 << 20, 'c')),
       {},
       grpc::StatusCode::RESOURCE_EXHAUSTED,
       "larger than max"},
      {"consumer_id_not_utf8",
       kStreamBatches,
       bad_utf8,
       {},
       grpc::StatusCode::INVALID_ARGUMENT,
       "cannot parse request bytes"},
      {"garbage_stream_batches",
       kStreamBatches,
       Garbage(),
       {},
       grpc::StatusCode::INVALID_ARGUMENT,
       "cannot parse request bytes"},
      // Every method is raw, so the server parses the bytes itself and
      // answers INVALID_ARGUMENT naming the message.
      {"garbage_get_dataset_info",
       kDatasetInfo,
       Garbage(),
       {},
       grpc::StatusCode::INVALID_ARGUMENT,
       "GetDatasetInfoRequest: cannot parse request bytes"},
      {"garbage_watch_mode",
       kWatchMode,
       Garbage(),
       {},
       grpc::StatusCode::INVALID_ARGUMENT,
       "WatchModeRequest: cannot parse request bytes"},
      {"unknown_method",
       "/inputserve.v1.InputService/DeleteEverything",
       "",
       {},
       grpc::StatusCode::UNIMPLEMENTED,
       ""},
      {"unknown_service",
       "/evil.v1.Backdoor/Open",
       "",
       {},
       grpc::StatusCode::UNIMPLEMENTED,
       ""},
      {"admin_method_on_data_port",
       "/inputserve.v1.AdminService/SetMode",
       "",
       {},
       grpc::StatusCode::UNIMPLEMENTED,
       ""},
      {"huge_metadata_value",
       kDatasetInfo,
       "",
       {{"x-junk", std::string(64 << 10, 'm')}},
       grpc::StatusCode::RESOURCE_EXHAUSTED,
       "",
       grpc::StatusCode::UNAVAILABLE},
      {"thousand_metadata_entries", kDatasetInfo, "",
       [] {
         Metadata m;
         for (int i = 0; i < 1000; ++i) {
           m.push_back({absl::StrCat("x-junk-", i), std::string(64, 'v')});
         }
         return m;
       }(),
       grpc::StatusCode::RESOURCE_EXHAUSTED, "", grpc::StatusCode::UNAVAILABLE},
      {"unknown_field_is_ignored",
       kDatasetInfo,
       unknown_field,
       {},
       grpc::StatusCode::OK,
       ""},
  };
}

struct BadBytes {
  const char* name;
  std::string bytes;
};

std::vector<BadBytes> BadSocketInputs() {
  std::string random(4096, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (char& c : random) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  // TLS 1.2 ClientHello record header and the start of a handshake.
  const std::string tls_hello("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
                              11);
  return {
      {"http1_get", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"http1_post_grpc_path",
       "POST /inputserve.v1.InputService/StreamBatches HTTP/1.1\r\n"
       "Content-Type: application/grpc\r\nContent-Length: 5\r\n\r\n\0\0\0\0\0"},
      {"random_bytes", random},
      {"tls_client_hello_on_plaintext", tls_hello},
  };
}

class HostileRequestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start({"--dataset=synthetic:cifar10", "--batch_size=16",
                              "--admin_listen="});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // The next good client after the table.
  void ExpectGoodClientServed() {
    ASSERT_TRUE(server_->running()) << server_->output();
    ClientOptions o;
    o.targets = {server_->data_target()};
    o.device_kind = DeviceKind::kHost;
    o.unavailable_timeout = absl::Seconds(10);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(o);
    ASSERT_TRUE(client.ok()) << client.status();
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<const Batch*> batch = (*client)->Next();
      ASSERT_TRUE(batch.ok()) << batch.status();
      EXPECT_EQ((*batch)->global_batch_size, 16);
    }
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(HostileRequestsTest, EveryBadCallGetsItsCodeAndTheServerServesOn) {
  for (const BadCall& bad : BadCalls()) {
    SCOPED_TRACE(bad.name);
    CallResult r =
        RawCall(server_->data_target(), bad.method, bad.request, bad.metadata);
    EXPECT_TRUE(r.status.error_code() == bad.code ||
                (bad.or_code != grpc::StatusCode::OK &&
                 r.status.error_code() == bad.or_code))
        << bad.name << ": " << r.status.error_code() << " "
        << r.status.error_message();
    EXPECT_THAT(r.status.error_message(), HasSubstr(bad.message))
        << bad.name << ": '" << bad.message << "' not in '"
        << r.status.error_message() << "'";
    ASSERT_TRUE(server_->running()) << bad.name << "\n" << server_->output();
  }
  ExpectGoodClientServed();
}

TEST_F(HostileRequestsTest, GarbageOnTheTcpPortIsDroppedAndTheServerServesOn) {
  for (const BadBytes& bad : BadSocketInputs()) {
    SCOPED_TRACE(bad.name);
    SocketResult r =
        SendRaw(server_->data_port(), bad.bytes, absl::Seconds(10));
    EXPECT_TRUE(r.connected);
    EXPECT_TRUE(r.closed_by_server) << bad.name << ": still open after 10s";
    ASSERT_TRUE(server_->running()) << bad.name << "\n" << server_->output();
  }
  // A valid preface followed by a SETTINGS frame whose length is not a
  // multiple of 6: a connection error (RFC 9113 6.5), so the server hangs
  // up.
  const std::string preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
  const std::string bad_settings(
      "\x00\x00\x03\x04\x00\x00\x00\x00\x00"
      "abc",
      12);
  SocketResult goaway =
      SendRaw(server_->data_port(), preface + bad_settings, absl::Seconds(10));
  EXPECT_TRUE(goaway.closed_by_server);
  // It answered as an HTTP/2 server (its SETTINGS first) before hanging up.
  const std::vector<int> frames = Http2FrameTypes(goaway.received);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.front(), 4);
  {
    // Half a preface, and 100 idle connections, held open: none of them
    // blocks the next good client.
    HeldConnection half(server_->data_port(), preface.substr(0, 10));
    EXPECT_TRUE(half.connected());
    std::vector<std::unique_ptr<HeldConnection>> idle;
    for (int i = 0; i < 100; ++i) {
      idle.push_back(
          std::make_unique<HeldConnection>(server_->data_port(), ""));
    }
    ExpectGoodClientServed();
  }
  // Connect and hang up at once.
  EXPECT_TRUE(
      SendRaw(server_->data_port(), "", absl::Milliseconds(1)).connected);
  ExpectGoodClientServed();
}

TEST_F(HostileRequestsTest, GarbageOnTheMetricsPortGetsHttpErrors) {
  SocketResult garbage = SendRaw(server_->metrics_port(),
                                 BadSocketInputs()[2].bytes, absl::Seconds(10));
  EXPECT_TRUE(garbage.closed_by_server);
  EXPECT_EQ(garbage.received.rfind("HTTP/1.0 400 Bad Request", 0), 0u)
      << garbage.received;
  SocketResult missing = SendRaw(
      server_->metrics_port(), "GET /nope HTTP/1.0\r\n\r\n", absl::Seconds(10));
  EXPECT_EQ(missing.received.rfind("HTTP/1.0 404 Not Found", 0), 0u)
      << missing.received;
  ASSERT_TRUE(HttpGet(server_->metrics_port(), "/metrics").ok());
  ExpectGoodClientServed();
}

}  // namespace
}  // namespace inputserve::testing
