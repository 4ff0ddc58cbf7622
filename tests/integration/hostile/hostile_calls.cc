#include "tests/integration/hostile/hostile_calls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "absl/time/clock.h"
#include "grpcpp/generic/generic_stub.h"

namespace inputserve::testing {
namespace {

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

CallResult RawCall(const std::string& target, const std::string& method,
                   const std::string& request, const Metadata& metadata,
                   int max_messages, absl::Duration timeout) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  grpc::GenericStub stub(grpc::CreateCustomChannel(
      target, grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(timeout));
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, method, &cq);
  void* tag;
  bool ok = false;
  // Each step waits for its own tag; a failed step only means the call is
  // over, and Finish says why.
  auto step = [&](void* want) {
    cq.Next(&tag, &ok);
    return ok && tag == want;
  };
  CallResult result;
  call->StartCall(reinterpret_cast<void*>(1));
  if (step(reinterpret_cast<void*>(1))) {
    grpc::Slice slice(request);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, reinterpret_cast<void*>(2));
    if (step(reinterpret_cast<void*>(2))) {
      call->WritesDone(reinterpret_cast<void*>(3));
      step(reinterpret_cast<void*>(3));
      grpc::ByteBuffer response;
      for (;;) {
        call->Read(&response, reinterpret_cast<void*>(4));
        if (!step(reinterpret_cast<void*>(4))) break;
        if (++result.messages >= max_messages) {
          context.TryCancel();
        }
      }
    }
  }
  call->Finish(&result.status, reinterpret_cast<void*>(5));
  step(reinterpret_cast<void*>(5));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return result;
}

SocketResult SendRaw(int port, const std::string& bytes, absl::Duration wait) {
  SocketResult result;
  const int fd = ConnectLoopback(port);
  if (fd < 0) return result;
  result.connected = true;
  if (!bytes.empty() && !WriteAll(fd, bytes)) {
    // The server hung up while we were still writing.
    result.closed_by_server = true;
    close(fd);
    return result;
  }
  const absl::Time deadline = absl::Now() + wait;
  char buf[4096];
  while (absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const int left =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (poll(&p, 1, left > 0 ? left : 0) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      result.closed_by_server = true;
      break;
    }
    result.received.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return result;
}

HeldConnection::HeldConnection(int port, const std::string& bytes)
    : fd_(ConnectLoopback(port)) {
  if (fd_ >= 0 && !bytes.empty() && !WriteAll(fd_, bytes)) {
    close(fd_);
    fd_ = -1;
  }
}

HeldConnection::~HeldConnection() {
  if (fd_ >= 0) close(fd_);
}

std::vector<int> Http2FrameTypes(const std::string& bytes) {
  std::vector<int> types;
  size_t at = 0;
  while (at + 9 <= bytes.size()) {
    const auto b = [&](size_t i) {
      return static_cast<uint8_t>(bytes[at + i]);
    };
    const size_t length = (size_t{b(0)} << 16) | (size_t{b(1)} << 8) | b(2);
    types.push_back(b(3));
    at += 9 + length;
  }
  return types;
}

}  // namespace inputserve::testing
