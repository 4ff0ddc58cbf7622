// TokenAuthenticator: checks "authorization: Bearer <token>" values against
// the admin token, in time that does not depend on where they differ.
//
// Immutable after construction; thread-safe.
#ifndef INPUTSERVE_SERVER_AUTH_H_
#define INPUTSERVE_SERVER_AUTH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inputserve {

class TokenAuthenticator {
 public:
  // Reads the token from the first line of `path` (surrounding whitespace
  // ignored). Errors name the file, never the token.
  static absl::StatusOr<TokenAuthenticator> FromFile(const std::string& path);
  // A token given directly (tests). Must be non-empty and printable.
  static absl::StatusOr<TokenAuthenticator> FromToken(absl::string_view token);
  // Accepts every request. Only with --admin_insecure_no_auth.
  static TokenAuthenticator AllowAll();

  // OK, or UNAUTHENTICATED with a message that never echoes the token.
  // `authorization` is the metadata value, or nullptr when absent.
  absl::Status Check(const absl::string_view* authorization) const;

  bool allow_all() const { return allow_all_; }

 private:
  TokenAuthenticator(std::string token, bool allow_all)
      : token_(std::move(token)), allow_all_(allow_all) {}

  std::string token_;
  bool allow_all_;
};

// Compares in time that depends only on the lengths.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_AUTH_H_
