// Calls grpc.health.v1.Health/Check without generated code (Debian ships no
// health.proto for C++): the request and the response are two tiny messages
// encoded and decoded by hand. Stateless; thread-safe.
#ifndef INPUTSERVE_CLIENT_TOOLS_HEALTH_PROBE_H_
#define INPUTSERVE_CLIENT_TOOLS_HEALTH_PROBE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace inputserve::admin {

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum class ServingStatus : int {
  kUnknown = 0,
  kServing = 1,
  kNotServing = 2,
  kServiceUnknown = 3,
};

const char* ServingStatusName(ServingStatus status);

// Encodes HealthCheckRequest{service}.
std::string EncodeHealthCheckRequest(const std::string& service);
// Decodes HealthCheckResponse; DATA_LOSS when the bytes are malformed.
absl::StatusOr<ServingStatus> DecodeHealthCheckResponse(
    const std::string& bytes);

// One Check call. `context` carries the deadline and metadata. The call's
// own error (e.g. NOT_FOUND for an unknown service) is returned as is.
absl::StatusOr<ServingStatus> CheckHealth(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
    grpc::ClientContext* context);

}  // namespace inputserve::admin

#endif  // INPUTSERVE_CLIENT_TOOLS_HEALTH_PROBE_H_
