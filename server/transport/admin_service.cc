#include "server/transport/admin_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/log.h"
#include "server/transport/call_auth.h"
#include "server/transport/wire.h"

namespace inputserve {

AdminServiceImpl::AdminServiceImpl(const TokenAuthenticator* auth,
                                   ModeController* mode,
                                   ServerMetrics* metrics,
                                   StatusFiller fill_status)
    : auth_(auth),
      mode_(mode),
      metrics_(metrics),
      fill_status_(std::move(fill_status)) {}

grpc::ServerUnaryReactor* AdminServiceImpl::Reply(
    grpc::CallbackServerContext* context, const char* rpc,
    const grpc::Status& status) {
  metrics_->admin_requests(rpc, StatusCodeName(status.error_code()))
      .Increment();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetMode(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw,
    grpc::ByteBuffer* response) {
  if (grpc::Status auth = AuthenticateCall(auth_, *context); !auth.ok()) {
    return Reply(context, "SetMode", auth);
  }
  v1::SetModeRequest request;
  if (grpc::Status s = ParseRequest(*raw, &request); !s.ok()) {
    return Reply(context, "SetMode", s);
  }
  absl::StatusOr<ServingMode> mode = ServingModeFromProto(request.mode());
  if (!mode.ok()) {
    return Reply(context, "SetMode", ToGrpcStatus(mode.status()));
  }
  const ModeState before = mode_->Get();
  const ModeState after = mode_->Set(*mode);
  if (after.generation != before.generation) {
    LogInfo("admin: mode set to ", ServingModeName(after.mode),
            " (generation ", after.generation, ") by ", context->peer());
  }
  SerializeMessage(ToProto(after), response);
  return Reply(context, "SetMode", grpc::Status::OK);
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetStatus(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw,
    grpc::ByteBuffer* response_bytes) {
  if (grpc::Status auth = AuthenticateCall(auth_, *context); !auth.ok()) {
    return Reply(context, "GetStatus", auth);
  }
  v1::GetStatusRequest request;
  if (grpc::Status s = ParseRequest(*raw, &request); !s.ok()) {
    return Reply(context, "GetStatus", s);
  }
  v1::ServerStatus status;
  v1::ServerStatus* response = &status;
  *response->mutable_mode() = ToProto(mode_->Get());
  response->set_batches_sent_real(static_cast<uint64_t>(
      metrics_->batches_sent(ServingMode::kReal).Value()));
  response->set_batches_sent_synthetic(static_cast<uint64_t>(
      metrics_->batches_sent(ServingMode::kSynthetic).Value()));
  response->set_bytes_sent_real(static_cast<uint64_t>(
      metrics_->bytes_sent(ServingMode::kReal).Value()));
  response->set_bytes_sent_synthetic(static_cast<uint64_t>(
      metrics_->bytes_sent(ServingMode::kSynthetic).Value()));
  if (fill_status_) fill_status_(response);
  SerializeMessage(status, response_bytes);
  return Reply(context, "GetStatus", grpc::Status::OK);
}

}  // namespace inputserve
