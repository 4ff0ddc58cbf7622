// inputserve-admin: flips the serving mode of an inputserve server, prints
// its status, or checks its health. Flags -> AdminOptions -> one command.
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "client/tools/admin_commands.h"
#include "common/status_macros.h"

ABSL_FLAG(std::string, server, "",
          "HOST:PORT of the server: its admin port (--admin_listen) for "
          "set-mode and status, its data port (--listen) for health.");
ABSL_FLAG(std::string, token_file, "",
          "File whose first line is the admin token (surrounding whitespace "
          "ignored); sent as 'authorization: Bearer <token>'.");
ABSL_FLAG(bool, tls, false,
          "Use TLS (implied by any --tls_* file flag); system roots unless "
          "--tls_ca_file is given.");
ABSL_FLAG(std::string, tls_ca_file, "", "PEM CA bundle to verify the server.");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM client certificate (mTLS).");
ABSL_FLAG(std::string, tls_key_file, "", "PEM client private key (mTLS).");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "Deadline of the command, e.g. 500ms, 10s. When the first "
          "connection attempt fails, the call is retried once, waiting up "
          "to 1s (within the deadline) for the server to accept.");
ABSL_FLAG(bool, json, false, "Print the reply as JSON.");
ABSL_FLAG(std::string, service, "",
          "Service name for 'health' (empty = the whole server).");

namespace {

absl::StatusOr<std::string> Run(inputserve::admin::AdminOptions options,
                                const std::string& token_file,
                                const std::vector<std::string>& args) {
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be positive");
  }
  if (!token_file.empty()) {
    INPUTSERVE_ASSIGN_OR_RETURN(std::string token,
                                inputserve::admin::ReadTokenFile(token_file));
    options.token = std::move(token);
  }
  return inputserve::admin::RunAdminCommand(options, args);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Controls an inputserve server.\n\n"
      "  inputserve-admin --server=HOST:PORT [--token_file=F] COMMAND\n\n"
      "Commands:\n"
      "  set-mode real|synthetic  switch the serving mode; prints the new "
      "ModeStatus\n"
      "  status                   print the server's ServerStatus\n"
      "  health                   grpc.health.v1 check; exit 0 only when "
      "SERVING\n\n"
      "Exit status 0 on success; otherwise 1 and 'CODE: message' on stderr.");
  // --help lists the flags of this file (absl's default only matches files
  // named like the binary or main.cc).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "admin_main.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> args(positional.begin() + 1, positional.end());

  inputserve::admin::AdminOptions options;
  options.server = absl::GetFlag(FLAGS_server);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.json = absl::GetFlag(FLAGS_json);
  options.health_service = absl::GetFlag(FLAGS_service);
  options.tls.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls.enabled =
      absl::GetFlag(FLAGS_tls) || !options.tls.ca_file.empty() ||
      !options.tls.cert_file.empty() || !options.tls.key_file.empty();

  absl::StatusOr<std::string> output =
      Run(std::move(options), absl::GetFlag(FLAGS_token_file), args);
  if (!output.ok()) {
    std::fprintf(stderr, "inputserve-admin: %s: %s\n",
                 absl::StatusCodeToString(output.status().code()).c_str(),
                 std::string(output.status().message()).c_str());
    return 1;
  }
  std::fputs(output->c_str(), stdout);
  return 0;
}
