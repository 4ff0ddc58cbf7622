#include "tests/integration/server/raw_client.h"

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>

#include "common/file_util.h"
#include "grpcpp/generic/generic_stub.h"

namespace inputserve::testing {

std::shared_ptr<grpc::Channel> Connect(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(
      target, grpc::InsecureChannelCredentials(), args);
  // Connected before the first call: a call without wait_for_ready fails on
  // the first failed connection attempt, and gRPC 1.51 can fail one
  // spuriously (client/transport/unary_retry.h). Calls still report their
  // own errors if this times out.
  channel->WaitForConnected(std::chrono::system_clock::now() +
                            std::chrono::seconds(10));
  return channel;
}

BatchReader::BatchReader(v1::InputService::Stub* stub,
                         const std::string& consumer) {
  v1::StreamBatchesRequest request;
  request.set_consumer_id(consumer);
  reader_ = stub->StreamBatches(&context_, request);
}

bool BatchReader::Next(ReceivedBatch* batch) {
  *batch = ReceivedBatch();
  v1::BatchChunk chunk;
  while (reader_->Read(&chunk)) {
    if (batch->chunks == 0) batch->header = chunk.header();
    ++batch->chunks;
    batch->payload += chunk.data();
    if (chunk.last()) return true;
  }
  return false;
}

grpc::Status BatchReader::Finish() { return reader_->Finish(); }

namespace {

void AddToken(grpc::ClientContext* context, const std::string& token) {
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
}

}  // namespace

grpc::Status SetMode(const std::string& admin_target, const std::string& token,
                     v1::Mode mode, v1::ModeStatus* out) {
  auto stub = v1::AdminService::NewStub(Connect(admin_target));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  AddToken(&context, token);
  v1::SetModeRequest request;
  request.set_mode(mode);
  v1::ModeStatus response;
  grpc::Status status = stub->SetMode(&context, request, &response);
  if (out != nullptr) *out = response;
  return status;
}

grpc::Status GetStatus(const std::string& admin_target,
                       const std::string& token, v1::ServerStatus* out) {
  auto stub = v1::AdminService::NewStub(Connect(admin_target));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  AddToken(&context, token);
  return stub->GetStatus(&context, v1::GetStatusRequest(), out);
}

int HealthCheck(const std::string& target) {
  grpc::GenericStub stub(Connect(target));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  // HealthCheckRequest{service = ""} is the empty message.
  grpc::ByteBuffer request;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = s;
                   done = true;
                   cv.notify_one();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  // HealthCheckResponse{status = 1: enum}: tag 0x08 then a one-byte varint.
  if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];
  return 0;  // UNKNOWN (field absent)
}

CifarRecords ReadCifarFiles(const std::vector<std::string>& paths) {
  CifarRecords out;
  for (const std::string& path : paths) {
    const std::string data = ReadWholeFile(path).value_or("");
    for (size_t r = 0; r + 3073 <= data.size(); r += 3073) {
      out.labels.push_back(static_cast<uint8_t>(data[r]));
      for (int p = 0; p < 1024; ++p) {
        for (int c = 0; c < 3; ++c) {
          out.nhwc.push_back(static_cast<uint8_t>(data[r + 1 + c * 1024 + p]));
        }
      }
    }
  }
  return out;
}

}  // namespace inputserve::testing
