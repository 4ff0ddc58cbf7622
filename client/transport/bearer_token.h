// The data-port bearer token of ClientOptions::data_token_file: read (and
// validated) at Create, re-read on every new call so a rotated file is used
// without a restart, and sent as "authorization: Bearer <token>" by a channel
// interceptor on each call of the channels made with it. Thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_BEARER_TOKEN_H_
#define INPUTSERVE_CLIENT_TRANSPORT_BEARER_TOKEN_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/client_interceptor.h"

namespace inputserve::client_internal {

// The first line of the file at `path`, surrounding whitespace removed.
// INVALID_ARGUMENT naming `what` and the path when the file cannot be read or
// its first line is empty.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path,
                                          const std::string& what);

class BearerTokenFile {
 public:
  // Reads the token now: a missing or empty file fails Create().
  static absl::StatusOr<std::shared_ptr<BearerTokenFile>> Open(
      const std::string& path);

  // The file's current token; the last good one while the file is
  // unreadable or empty (e.g. mid-rotation).
  std::string Current() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  BearerTokenFile(std::string path, std::string token)
      : path_(std::move(path)), token_(std::move(token)) {}

  const std::string path_;
  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
};

// Adds "authorization: Bearer <token->Current()>" to every call.
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
MakeBearerTokenInterceptorFactory(std::shared_ptr<BearerTokenFile> token);

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_BEARER_TOKEN_H_
