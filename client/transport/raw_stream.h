// RawServerStream: a blocking server-streaming call whose responses arrive as
// raw grpc::ByteBuffers (no protobuf parse, no copy into std::string). Built
// on the generic stub and a private completion queue. One thread drives a
// call; TryCancel on its ClientContext from another thread unblocks Read().
#ifndef INPUTSERVE_CLIENT_TRANSPORT_RAW_STREAM_H_
#define INPUTSERVE_CLIENT_TRANSPORT_RAW_STREAM_H_

#include <memory>
#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"

namespace inputserve::client_internal {

class RawServerStream {
 public:
  // `method` is the full name, e.g.
  // "/inputserve.v1.InputService/StreamBatches".
  RawServerStream(std::shared_ptr<grpc::Channel> channel, std::string method);
  ~RawServerStream();
  RawServerStream(const RawServerStream&) = delete;
  RawServerStream& operator=(const RawServerStream&) = delete;

  // Starts the call and sends the one request message. False when the call
  // could not start; Finish() then tells why.
  bool Start(grpc::ClientContext* context, const grpc::ByteBuffer& request);
  // Blocks for the next response; false at the end of the stream.
  bool Read(grpc::ByteBuffer* response);
  // The call's final status. Call once, after Read returned false or after
  // TryCancel.
  grpc::Status Finish();

 private:
  bool Wait(void* tag);

  grpc::GenericStub stub_;
  std::string method_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool finished_ = false;
};

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_RAW_STREAM_H_
