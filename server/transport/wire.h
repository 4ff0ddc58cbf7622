// Conversions between the core's types and the wire contract
// (inputserve.v1), and the zero-copy encoding of batches into BatchChunk
// messages.
//
// EncodeBatch never copies payload bytes: each chunk is a gRPC ByteBuffer of
// three slices, [small header bytes][a sub-slice that references the batch's
// PayloadBuffer][the "last" flag], so the payload goes from the pipeline's
// buffer to the socket without an intermediate copy. All functions are
// thread-safe.
#ifndef INPUTSERVE_SERVER_TRANSPORT_WIRE_H_
#define INPUTSERVE_SERVER_TRANSPORT_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "inputserve/v1/common.pb.h"
#include "inputserve/v1/input_service.pb.h"
#include "server/mode_controller.h"
#include "server/pipeline/batch.h"
#include "server/pipeline/pipeline.h"

namespace inputserve {

// A batch encoded as the BatchChunk messages of one StreamBatches response.
struct EncodedBatch {
  std::vector<grpc::ByteBuffer> chunks;
  uint64_t payload_bytes = 0;
  ServingMode mode = ServingMode::kReal;
};

struct BatchWireInfo {
  ServingMode mode = ServingMode::kReal;
  uint64_t mode_generation = 0;
  uint32_t shard_index = 0;
  uint32_t num_shards = 1;
};

// Splits `batch` into chunks whose data fields hold at most `chunk_bytes`.
EncodedBatch EncodeBatch(const BatchPtr& batch, const BatchWireInfo& info,
                         size_t chunk_bytes);

v1::Mode ToProto(ServingMode mode);
// The serving mode a SetMode request asks for. Only MODE_REAL and
// MODE_SYNTHETIC are modes; MODE_UNSPECIFIED and values unknown to this build
// (proto3 keeps them) get INVALID_ARGUMENT naming the value received.
absl::StatusOr<ServingMode> ServingModeFromProto(v1::Mode mode);
v1::ModeStatus ToProto(const ModeState& state);
void ToProto(const TensorLayout& layout, v1::TensorSpec* spec);
// The static part of GetDatasetInfo for what `pipeline` serves under the
// name `dataset` (the --dataset spec) as shard `shard`.
v1::DatasetInfo DescribePipeline(const Pipeline& pipeline,
                                 absl::string_view dataset,
                                 const BatchWireInfo& shard);

grpc::Status ToGrpcStatus(const absl::Status& status);

// Every method is registered raw (ByteBuffer in, ByteBuffer out) so request
// bytes that do not parse get INVALID_ARGUMENT from us rather than gRPC's
// bare UNIMPLEMENTED. ParseRequest names the message type in the error.
grpc::Status ParseRequest(const grpc::ByteBuffer& raw,
                          google::protobuf::Message* message);
void SerializeMessage(const google::protobuf::Message& message,
                      grpc::ByteBuffer* out);
// "UNAUTHENTICATED", "OK", ... for metrics labels and logs.
const char* StatusCodeName(grpc::StatusCode code);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TRANSPORT_WIRE_H_
