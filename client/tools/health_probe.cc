#include "client/tools/health_probe.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/transport/channel.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace inputserve::admin {

const char* ServingStatusName(ServingStatus status) {
  switch (status) {
    case ServingStatus::kUnknown:
      return "UNKNOWN";
    case ServingStatus::kServing:
      return "SERVING";
    case ServingStatus::kNotServing:
      return "NOT_SERVING";
    case ServingStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
  }
  return "INVALID";
}

std::string EncodeHealthCheckRequest(const std::string& service) {
  std::string out;
  if (service.empty()) return out;  // proto3: default values are omitted.
  out.push_back('\x0a');            // Field 1, length-delimited.
  for (uint64_t n = service.size();; n >>= 7) {
    if (n < 0x80) {
      out.push_back(static_cast<char>(n));
      break;
    }
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
  return out + service;
}

absl::StatusOr<ServingStatus> DecodeHealthCheckResponse(
    const std::string& bytes) {
  uint64_t status = 0;
  size_t i = 0;
  auto varint = [&](uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && i < bytes.size(); shift += 7) {
      const uint8_t b = static_cast<uint8_t>(bytes[i++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;
  };
  while (i < bytes.size()) {
    uint64_t tag;
    if (!varint(&tag)) return absl::DataLossError("truncated health response");
    const int wire_type = static_cast<int>(tag & 7);
    uint64_t value = 0;
    if (wire_type == 0) {
      if (!varint(&value)) {
        return absl::DataLossError("truncated health response");
      }
      if ((tag >> 3) == 1) status = value;
    } else if (wire_type == 2) {
      if (!varint(&value) || value > bytes.size() - i) {
        return absl::DataLossError("truncated health response");
      }
      i += value;
    } else {
      return absl::DataLossError(absl::StrCat(
          "unexpected wire type ", wire_type, " in health response"));
    }
  }
  if (status > 3) {
    return absl::DataLossError(absl::StrCat("unknown serving status ", status));
  }
  return static_cast<ServingStatus>(status);
}

absl::StatusOr<ServingStatus> CheckHealth(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
    grpc::ClientContext* context) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  const std::string request_bytes = EncodeHealthCheckRequest(service);
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(context, "/grpc.health.v1.Health/Check",
                                    request, &cq);
  call->StartCall();
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  const bool got = cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!got) return absl::InternalError("completion queue closed");
  if (!status.ok()) return client_internal::FromGrpcStatus(status);
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) {
    return absl::DataLossError("cannot read the health response");
  }
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return DecodeHealthCheckResponse(bytes);
}

}  // namespace inputserve::admin
