#include "server/transport/call_auth.h"

#include "absl/strings/string_view.h"
#include "server/transport/wire.h"

namespace inputserve {

grpc::Status AuthenticateCall(const TokenAuthenticator* auth,
                              const grpc::CallbackServerContext& context) {
  if (auth == nullptr) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  absl::string_view value;
  const absl::string_view* header = nullptr;
  if (it != metadata.end()) {
    value = absl::string_view(it->second.data(), it->second.size());
    header = &value;
  }
  return ToGrpcStatus(auth->Check(header));
}

}  // namespace inputserve
