#include "server/transport/wire.h"

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/element_type_wire.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/slice.h"

namespace inputserve {
namespace {

// Protobuf wire tags of BatchChunk's fields (see common.proto).
constexpr uint8_t kHeaderTag = (1 << 3) | 2;  // header, length-delimited
constexpr uint8_t kDataTag = (2 << 3) | 2;    // data, length-delimited
constexpr uint8_t kLastTag = (3 << 3) | 0;    // last, varint

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Keeps the batch's payload alive for as long as gRPC holds a slice of it.
void ReleasePayload(void* holder) {
  delete static_cast<std::shared_ptr<const PayloadBuffer>*>(holder);
}

}  // namespace

EncodedBatch EncodeBatch(const BatchPtr& batch, const BatchWireInfo& info,
                         size_t chunk_bytes) {
  EncodedBatch encoded;
  encoded.mode = info.mode;
  const PayloadBuffer& payload = *batch->payload;
  encoded.payload_bytes = payload.size();

  v1::BatchHeader header;
  header.set_sequence(batch->sequence);
  header.set_mode(ToProto(info.mode));
  header.set_mode_generation(info.mode_generation);
  header.set_payload_bytes(payload.size());
  header.set_epoch(batch->epoch);
  header.set_shard_index(info.shard_index);
  header.set_num_shards(info.num_shards);
  if (batch->deterministic) {
    header.set_deterministic(true);
    header.set_step(batch->step);
    header.set_batch_index(batch->batch_index);
  }
  for (const TensorLayout& t : batch->tensors) ToProto(t, header.add_tensors());
  const std::string header_bytes = header.SerializeAsString();

  // One slice over the whole payload; every chunk takes a sub-slice of it,
  // which shares its reference count instead of copying bytes.
  grpc::Slice whole(
      const_cast<uint8_t*>(payload.data()), payload.size(), &ReleasePayload,
      new std::shared_ptr<const PayloadBuffer>(batch->payload));

  chunk_bytes = std::max<size_t>(chunk_bytes, 1);
  size_t offset = 0;
  do {
    const size_t len = std::min(chunk_bytes, payload.size() - offset);
    const bool first = offset == 0;
    const bool last = offset + len == payload.size();
    std::string prefix;
    if (first) {
      prefix.push_back(static_cast<char>(kHeaderTag));
      AppendVarint(header_bytes.size(), &prefix);
      prefix.append(header_bytes);
    }
    std::vector<grpc::Slice> slices;
    if (len > 0) {
      prefix.push_back(static_cast<char>(kDataTag));
      AppendVarint(len, &prefix);
      slices.emplace_back(prefix);
      slices.push_back(whole.sub(offset, offset + len));
    } else {
      slices.emplace_back(prefix);
    }
    if (last) {
      const char last_field[2] = {static_cast<char>(kLastTag), 1};
      slices.emplace_back(last_field, sizeof(last_field));
    }
    encoded.chunks.emplace_back(slices.data(), slices.size());
    offset += len;
  } while (offset < payload.size());
  return encoded;
}

v1::Mode ToProto(ServingMode mode) {
  return mode == ServingMode::kSynthetic ? v1::MODE_SYNTHETIC : v1::MODE_REAL;
}

absl::StatusOr<ServingMode> ServingModeFromProto(v1::Mode mode) {
  switch (mode) {
    case v1::MODE_REAL:
      return ServingMode::kReal;
    case v1::MODE_SYNTHETIC:
      return ServingMode::kSynthetic;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("mode: must be MODE_REAL (1) or MODE_SYNTHETIC (2), "
                       "got ",
                       static_cast<int>(mode)));
  }
}

v1::ModeStatus ToProto(const ModeState& state) {
  v1::ModeStatus status;
  status.set_mode(ToProto(state.mode));
  status.set_generation(state.generation);
  status.set_changed_unix_micros(state.changed_unix_micros);
  return status;
}

void ToProto(const TensorLayout& layout, v1::TensorSpec* spec) {
  spec->set_name(layout.name);
  spec->set_dtype(ElementTypeToProto(layout.dtype));
  for (int64_t d : layout.shape) spec->add_shape(d);
}

v1::DatasetInfo DescribePipeline(const Pipeline& pipeline,
                                 absl::string_view dataset,
                                 const BatchWireInfo& shard) {
  v1::DatasetInfo info;
  info.set_dataset(std::string(dataset));
  info.set_batch_size(pipeline.options().batch_size);
  for (const TensorLayout& t : pipeline.layouts()) {
    ToProto(t, info.add_tensors());
  }
  info.set_batch_payload_bytes(pipeline.payload_bytes());
  info.set_examples_per_epoch(pipeline.dataset().examples_per_epoch());
  info.set_shard_index(shard.shard_index);
  info.set_num_shards(shard.num_shards);
  info.set_num_classes(pipeline.dataset().shape().num_classes);
  for (const std::string& name : pipeline.dataset().class_names()) {
    info.add_class_names(name);
  }
  return info;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::Status ParseRequest(const grpc::ByteBuffer& raw,
                          google::protobuf::Message* message) {
  grpc::ByteBuffer copy(raw);  // Shares the slices; the reader consumes it.
  grpc::Status status =
      grpc::GenericDeserialize<grpc::ProtoBufferReader,
                               google::protobuf::Message>(&copy, message);
  if (!status.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat(message->GetDescriptor()->name(),
                                     ": cannot parse request bytes"));
  }
  return grpc::Status::OK;
}

void SerializeMessage(const google::protobuf::Message& message,
                      grpc::ByteBuffer* out) {
  bool own_buffer = false;
  grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::Message>(
      message, out, &own_buffer);
}

const char* StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

}  // namespace inputserve
