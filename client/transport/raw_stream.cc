#include "client/transport/raw_stream.h"

#include <utility>

namespace inputserve::client_internal {
namespace {

// Distinct tags only for sanity checks: one operation is in flight at a time.
void* const kStartTag = reinterpret_cast<void*>(1);
void* const kWriteTag = reinterpret_cast<void*>(2);
void* const kReadTag = reinterpret_cast<void*>(3);
void* const kFinishTag = reinterpret_cast<void*>(4);

}  // namespace

RawServerStream::RawServerStream(std::shared_ptr<grpc::Channel> channel,
                                 std::string method)
    : stub_(std::move(channel)), method_(std::move(method)) {}

RawServerStream::~RawServerStream() {
  if (call_ != nullptr && !finished_) {
    // Never leave the call alive behind a destroyed queue.
    Finish();
  }
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
}

bool RawServerStream::Wait(void* expected) {
  void* tag = nullptr;
  bool ok = false;
  if (!cq_.Next(&tag, &ok)) return false;
  return ok && tag == expected;
}

bool RawServerStream::Start(grpc::ClientContext* context,
                            const grpc::ByteBuffer& request) {
  call_ = stub_.PrepareCall(context, method_, &cq_);
  if (call_ == nullptr) return false;
  call_->StartCall(kStartTag);
  if (!Wait(kStartTag)) return false;
  // A server-streaming call is, on the wire, one request then half-close.
  call_->Write(request, grpc::WriteOptions().set_last_message(), kWriteTag);
  return Wait(kWriteTag);
}

bool RawServerStream::Read(grpc::ByteBuffer* response) {
  if (call_ == nullptr) return false;
  call_->Read(response, kReadTag);
  return Wait(kReadTag);
}

grpc::Status RawServerStream::Finish() {
  if (call_ == nullptr) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "call was not created");
  }
  grpc::Status status;
  finished_ = true;
  call_->Finish(&status, kFinishTag);
  void* tag = nullptr;
  bool ok = false;
  if (!cq_.Next(&tag, &ok)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "completion queue closed");
  }
  return status;
}

}  // namespace inputserve::client_internal
