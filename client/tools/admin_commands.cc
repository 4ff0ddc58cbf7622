#include "client/tools/admin_commands.h"

#include <chrono>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/tools/health_probe.h"
#include "client/transport/bearer_token.h"
#include "client/transport/channel.h"
#include "client/transport/unary_retry.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "inputserve/v1/admin_service.grpc.pb.h"

namespace inputserve::admin {
namespace {

// One call's context: the attempt's deadline and wait_for_ready, and the
// token.
void Prepare(const AdminOptions& options,
             const client_internal::AttemptPolicy& policy,
             grpc::ClientContext* context) {
  policy.Apply(context);
  if (!options.token.empty()) {
    context->AddMetadata("authorization", "Bearer " + options.token);
  }
}

std::string ModeName(v1::Mode mode) {
  switch (mode) {
    case v1::MODE_REAL:
      return "real";
    case v1::MODE_SYNTHETIC:
      return "synthetic";
    default:
      return absl::StrCat("unspecified(", static_cast<int>(mode), ")");
  }
}

std::string ChangedAt(int64_t unix_micros) {
  if (unix_micros <= 0) return "never";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                          absl::FromUnixMicros(unix_micros),
                          absl::UTCTimeZone());
}

absl::StatusOr<std::string> Json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions print;
  print.always_print_primitive_fields = true;
  print.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(message, &out, print).ok()) {
    return absl::InternalError("cannot print the reply as JSON");
  }
  return out;
}

std::string FormatMode(const v1::ModeStatus& mode) {
  return absl::StrFormat("mode: %s\ngeneration: %d\nchanged: %s\n",
                         ModeName(mode.mode()), mode.generation(),
                         ChangedAt(mode.changed_unix_micros()));
}

std::string FormatStatus(const v1::ServerStatus& s) {
  return absl::StrCat(
      FormatMode(s.mode()),
      absl::StrFormat("dataset: %s\nbatch_size: %d\nshard: %d of %d\n",
                      s.dataset(), s.batch_size(), s.shard_index(),
                      s.num_shards()),
      absl::StrFormat("active_streams: %d\nprefetch_queue_depth: %d\n",
                      s.active_streams(), s.prefetch_queue_depth()),
      absl::StrFormat("batches_sent: real=%d synthetic=%d\n",
                      s.batches_sent_real(), s.batches_sent_synthetic()),
      absl::StrFormat("bytes_sent: real=%d synthetic=%d\n", s.bytes_sent_real(),
                      s.bytes_sent_synthetic()),
      absl::StrFormat("uptime_seconds: %.1f\n", s.uptime_seconds()));
}

absl::Status Usage(const std::string& problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(problem,
                   "; usage: inputserve-admin --server=HOST:PORT "
                   "(set-mode real|synthetic | status | health)"));
}

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  return client_internal::ReadTokenFile(path, "token file (--token_file)");
}

absl::StatusOr<std::string> RunAdminCommand(
    const AdminOptions& options, const std::vector<std::string>& args) {
  if (options.server.empty()) {
    return Usage("--server is required");
  }
  if (args.empty()) return Usage("no command given");
  const std::string& command = args[0];
  const size_t want_args = command == "set-mode" ? 2 : 1;
  if (command != "set-mode" && command != "status" && command != "health") {
    return Usage(absl::StrCat("unknown command '", command, "'"));
  }
  if (args.size() != want_args) {
    return Usage(absl::StrCat("'", command, "' takes ", want_args - 1,
                              " argument(s), got ", args.size() - 1, ": ",
                              absl::StrJoin(args, " ")));
  }
  v1::Mode mode = v1::MODE_UNSPECIFIED;
  if (command == "set-mode") {
    if (args[1] == "real") {
      mode = v1::MODE_REAL;
    } else if (args[1] == "synthetic") {
      mode = v1::MODE_SYNTHETIC;
    } else {
      return Usage(absl::StrCat("set-mode takes 'real' or 'synthetic', got '",
                                args[1], "'"));
    }
  }

  INPUTSERVE_ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::ChannelCredentials> credentials,
      client_internal::MakeCredentials(options.tls));
  std::shared_ptr<grpc::Channel> channel = client_internal::MakeChannel(
      options.server, credentials, client_internal::ChannelSettings());
  const auto deadline = std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(options.timeout);

  if (command == "health") {
    absl::StatusOr<ServingStatus> health;
    INPUTSERVE_RETURN_IF_ERROR(client_internal::CallWithReconnect(
        deadline, [&](const client_internal::AttemptPolicy& policy) {
          grpc::ClientContext context;
          Prepare(options, policy, &context);
          health = CheckHealth(channel, options.health_service, &context);
          return health.status();
        }));
    const std::string name = ServingStatusName(*health);
    if (*health != ServingStatus::kServing) {
      return absl::UnavailableError(
          absl::StrCat(options.server, " is not serving: ", name));
    }
    return options.json ? absl::StrCat("{\n \"status\": \"", name, "\"\n}\n")
                        : name + "\n";
  }

  // SetMode sets a value, so a second attempt is safe.
  auto stub = v1::AdminService::NewStub(channel);
  auto call = [&](auto method, const auto& request, auto* reply) {
    return client_internal::CallWithReconnect(
        deadline, [&](const client_internal::AttemptPolicy& policy) {
          grpc::ClientContext context;
          Prepare(options, policy, &context);
          return client_internal::FromGrpcStatus(
              ((*stub).*method)(&context, request, reply));
        });
  };
  if (command == "set-mode") {
    v1::SetModeRequest request;
    request.set_mode(mode);
    v1::ModeStatus reply;
    INPUTSERVE_RETURN_IF_ERROR(
        call(&v1::AdminService::Stub::SetMode, request, &reply));
    return options.json ? Json(reply) : FormatMode(reply);
  }
  v1::ServerStatus reply;
  INPUTSERVE_RETURN_IF_ERROR(
      call(&v1::AdminService::Stub::GetStatus, v1::GetStatusRequest(), &reply));
  return options.json ? Json(reply) : FormatStatus(reply);
}

}  // namespace inputserve::admin
