// Checks a call's "authorization: Bearer <token>" metadata with a
// TokenAuthenticator: the one place both the admin and the data service read
// that header. Stateless; thread-safe.
#ifndef INPUTSERVE_SERVER_TRANSPORT_CALL_AUTH_H_
#define INPUTSERVE_SERVER_TRANSPORT_CALL_AUTH_H_

#include "grpcpp/grpcpp.h"
#include "server/auth.h"

namespace inputserve {

// OK when `auth` is null (no token configured) or accepts the call's
// authorization metadata; UNAUTHENTICATED otherwise.
grpc::Status AuthenticateCall(const TokenAuthenticator* auth,
                              const grpc::CallbackServerContext& context);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TRANSPORT_CALL_AUTH_H_
