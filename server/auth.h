// TokenAuthenticator: checks "authorization: Bearer <token>" values against
// a token (the admin token, or the data-port token), in time that does not
// depend on where they differ. A
// file-backed token follows the file: a change (new inode, size, mtime or
// ctime, as when a Kubernetes Secret volume swaps its symlink) is picked up on
// the next Check() after at most `recheck_interval`, without a restart.
//
// Thread-safe: Check() may run on any number of threads; the file-backed
// token is guarded by a mutex.
#ifndef INPUTSERVE_SERVER_AUTH_H_
#define INPUTSERVE_SERVER_AUTH_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace inputserve {

class TokenFile;

class TokenAuthenticator {
 public:
  // Reads the token from the first line of `path` (surrounding whitespace
  // ignored). Errors name the file, never the token. Afterwards the file is
  // re-checked at most once per `recheck_interval`, on a call; a file that
  // becomes unreadable, empty or invalid keeps the previous token and logs
  // one warning. `name` ("admin", "data") names the token in messages and
  // the flag "--<name>_token_file".
  static absl::StatusOr<TokenAuthenticator> FromFile(
      const std::string& path,
      absl::Duration recheck_interval = absl::Seconds(1),
      absl::string_view name = "admin");
  // A token given directly (tests). Must be non-empty and printable.
  static absl::StatusOr<TokenAuthenticator> FromToken(
      absl::string_view token, absl::string_view name = "admin");
  // Accepts every request. Only with --admin_insecure_no_auth.
  static TokenAuthenticator AllowAll();

  TokenAuthenticator(TokenAuthenticator&&) noexcept;
  TokenAuthenticator& operator=(TokenAuthenticator&&) noexcept;
  ~TokenAuthenticator();

  // OK, or UNAUTHENTICATED with a message that never echoes the token.
  // `authorization` is the metadata value, or nullptr when absent.
  absl::Status Check(const absl::string_view* authorization) const;

  bool allow_all() const { return allow_all_; }

 private:
  TokenAuthenticator(std::string token, bool allow_all, std::string name);
  TokenAuthenticator(std::unique_ptr<TokenFile> file, std::string name);

  std::string name_;   // "admin", "data": for messages.
  std::string token_;  // Fixed token (FromToken).
  bool allow_all_ = false;
  std::unique_ptr<TokenFile> file_;  // Set for FromFile; owns the token.
};

// Compares in time that depends only on the lengths.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// The token in the first line of `contents`, validated (non-empty, printable
// ASCII, no spaces). Errors name it "<name> token" and never quote the
// contents.
absl::StatusOr<std::string> ParseToken(absl::string_view contents,
                                       absl::string_view name = "admin");

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_AUTH_H_
