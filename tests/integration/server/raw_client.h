// Helpers for talking to a server with plain generated stubs: the way any
// other gRPC client would, independent of the inputserve client library.
#ifndef INPUTSERVE_TESTS_INTEGRATION_SERVER_RAW_CLIENT_H_
#define INPUTSERVE_TESTS_INTEGRATION_SERVER_RAW_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "inputserve/v1/admin_service.grpc.pb.h"
#include "inputserve/v1/input_service.grpc.pb.h"

namespace inputserve::testing {

// A plaintext channel to a listening server, connected (waits up to 10 s).
std::shared_ptr<grpc::Channel> Connect(const std::string& target);

struct ReceivedBatch {
  v1::BatchHeader header;
  std::string payload;
  int chunks = 0;
};

// Reads whole batches from a StreamBatches reader.
class BatchReader {
 public:
  BatchReader(v1::InputService::Stub* stub, const std::string& consumer);
  // False at the end of the stream; then status() says why.
  bool Next(ReceivedBatch* batch);
  // One chunk, for tests that stop reading in the middle of a batch.
  bool NextChunk(v1::BatchChunk* chunk) { return reader_->Read(chunk); }
  grpc::Status Finish();
  grpc::ClientContext& context() { return context_; }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::BatchChunk>> reader_;
};

// Calls AdminService with "authorization: Bearer <token>" (no header when
// token is empty).
grpc::Status SetMode(const std::string& admin_target, const std::string& token,
                     v1::Mode mode, v1::ModeStatus* out = nullptr);
grpc::Status GetStatus(const std::string& admin_target,
                       const std::string& token, v1::ServerStatus* out);

// grpc.health.v1.Health/Check over a raw call; returns the serving status
// enum value (1 = SERVING, 2 = NOT_SERVING) or -1 on an RPC error.
int HealthCheck(const std::string& target);

// Reads a CIFAR-10 binary file into NHWC images and labels, the way the
// format is documented: 1 label byte, then 1024 R, 1024 G, 1024 B bytes.
struct CifarRecords {
  std::vector<uint8_t> nhwc;  // 32*32*3 per record
  std::vector<int32_t> labels;
};
CifarRecords ReadCifarFiles(const std::vector<std::string>& paths);

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_INTEGRATION_SERVER_RAW_CLIENT_H_
