// AdminServiceImpl: the gRPC shell of the control plane. Every call is
// authenticated with the bearer token, counted in
// inputserve_admin_requests_total{rpc,code}, and delegated to the core.
// This class is thread-safe.
#ifndef INPUTSERVE_SERVER_TRANSPORT_ADMIN_SERVICE_H_
#define INPUTSERVE_SERVER_TRANSPORT_ADMIN_SERVICE_H_

#include <functional>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "inputserve/v1/admin_service.grpc.pb.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/mode_controller.h"

namespace inputserve {

// Both methods are raw (ByteBuffer) so bad request bytes get
// INVALID_ARGUMENT (after authentication) instead of gRPC's UNIMPLEMENTED.
class AdminServiceImpl final
    : public v1::AdminService::WithRawCallbackMethod_SetMode<
          v1::AdminService::WithRawCallbackMethod_GetStatus<
              v1::AdminService::CallbackService>> {
 public:
  // Fills the parts of ServerStatus only the server knows (streams, queue).
  using StatusFiller = std::function<void(v1::ServerStatus*)>;

  AdminServiceImpl(const TokenAuthenticator* auth, ModeController* mode,
                   ServerMetrics* metrics, StatusFiller fill_status);

  grpc::ServerUnaryReactor* SetMode(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;

 private:
  grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context,
                                  const char* rpc, const grpc::Status& status);

  const TokenAuthenticator* const auth_;
  ModeController* const mode_;
  ServerMetrics* const metrics_;
  const StatusFiller fill_status_;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TRANSPORT_ADMIN_SERVICE_H_
