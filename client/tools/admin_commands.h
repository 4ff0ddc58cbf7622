// The commands of inputserve-admin as functions: each returns the text to
// print or an error whose code and message the binary reports. Kept apart
// from main() so tests run them against in-process servers. Stateless;
// thread-safe.
#ifndef INPUTSERVE_CLIENT_TOOLS_ADMIN_COMMANDS_H_
#define INPUTSERVE_CLIENT_TOOLS_ADMIN_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "inputserve/options.h"

namespace inputserve::admin {

struct AdminOptions {
  std::string server;  // HOST:PORT of the admin (set-mode, status) or data
                       // (health) port.
  std::string token;   // Sent as "authorization: Bearer <token>"; may be empty.
  TlsOptions tls;
  absl::Duration timeout = absl::Seconds(10);
  bool json = false;
  std::string health_service;  // Service name for `health`; "" = the server.
};

// The token file's first line with surrounding whitespace removed.
// INVALID_ARGUMENT naming the file when it cannot be read or the token is
// empty.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Runs `args` = {"set-mode", "real"|"synthetic"} | {"status"} | {"health"}.
// INVALID_ARGUMENT for an unknown command; the server's status otherwise;
// `health` fails with UNAVAILABLE when the answer is not SERVING.
absl::StatusOr<std::string> RunAdminCommand(
    const AdminOptions& options, const std::vector<std::string>& args);

}  // namespace inputserve::admin

#endif  // INPUTSERVE_CLIENT_TOOLS_ADMIN_COMMANDS_H_
