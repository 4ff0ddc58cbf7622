// Ways to hit a server with bad input: any bytes on any gRPC method (through
// grpc::GenericStub, so nothing checks them first), and raw bytes on a plain
// TCP socket. Stateless functions; safe to call from any thread.
#ifndef INPUTSERVE_TESTS_INTEGRATION_HOSTILE_HOSTILE_CALLS_H_
#define INPUTSERVE_TESTS_INTEGRATION_HOSTILE_HOSTILE_CALLS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace inputserve::testing {

using Metadata = std::vector<std::pair<std::string, std::string>>;

struct CallResult {
  grpc::Status status;
  int messages = 0;  // Responses read before the call ended.
};

// Sends `request` (any bytes) as the single request message of `method` and
// reads responses until the call ends, cancelling it after `max_messages`
// responses. Bounded by `timeout`.
CallResult RawCall(const std::string& target, const std::string& method,
                   const std::string& request, const Metadata& metadata = {},
                   int max_messages = 4,
                   absl::Duration timeout = absl::Seconds(20));

struct SocketResult {
  bool connected = false;
  bool closed_by_server = false;  // EOF or reset seen before the timeout.
  std::string received;           // Bytes the server sent back.
};

// Connects to 127.0.0.1:port, writes `bytes`, then reads until the server
// closes the connection or `wait` passes.
SocketResult SendRaw(int port, const std::string& bytes, absl::Duration wait);

// An open TCP connection to 127.0.0.1:port (for connections held open while
// others are served). Closes on destruction.
class HeldConnection {
 public:
  HeldConnection(int port, const std::string& bytes);
  ~HeldConnection();
  HeldConnection(const HeldConnection&) = delete;
  HeldConnection& operator=(const HeldConnection&) = delete;
  bool connected() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Frame types in the HTTP/2 frames of `bytes` (after any preface the server
// sent, which it does not: the server starts with a frame).
std::vector<int> Http2FrameTypes(const std::string& bytes);

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_INTEGRATION_HOSTILE_HOSTILE_CALLS_H_
