#include "server/server.h"

#include <cstdio>
#include <exception>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "prometheus/exposer.h"
#include "server/auth.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/mode_controller.h"
#include "server/pipeline/epoch_plan.h"
#include "server/pipeline/pipeline.h"
#include "server/transport/admin_service.h"
#include "server/transport/input_service.h"
#include "server/transport/synthetic_cache.h"
#include "server/transport/wire.h"

namespace inputserve {
namespace {

// How long start-up waits for the pipeline's first batch. An ImageNet batch
// of 256 takes well under a second per core; this bounds pathological data.
constexpr absl::Duration kFirstBatchTimeout = absl::Seconds(300);

absl::StatusOr<std::string> ReadFile(absl::string_view flag,
                                     const std::string& path) {
  absl::StatusOr<std::string> contents = ReadWholeFile(path);
  if (!contents.ok()) {
    return absl::NotFoundError(
        absl::StrCat("--", flag, ": ", contents.status().message()));
  }
  return contents;
}

absl::Status CheckPem(absl::string_view flag, const std::string& path,
                      const std::string& contents) {
  if (contents.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": '", path, "' holds no PEM block (-----BEGIN ...)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsFiles& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  INPUTSERVE_ASSIGN_OR_RETURN(std::string cert,
                              ReadFile("tls_cert_file", tls.cert_file));
  INPUTSERVE_ASSIGN_OR_RETURN(std::string key,
                              ReadFile("tls_key_file", tls.key_file));
  // gRPC reports unusable PEM only as a failure to listen; name the file.
  INPUTSERVE_RETURN_IF_ERROR(CheckPem("tls_cert_file", tls.cert_file, cert));
  INPUTSERVE_RETURN_IF_ERROR(CheckPem("tls_key_file", tls.key_file, key));
  ssl.pem_key_cert_pairs.push_back({key, cert});
  if (!tls.client_ca_file.empty()) {
    INPUTSERVE_ASSIGN_OR_RETURN(
        std::string ca, ReadFile("tls_client_ca_file", tls.client_ca_file));
    ssl.pem_root_certs = ca;
    ssl.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}


// One gRPC server on `address` serving `service` plus health and
// reflection; the flag name goes into the error.
absl::StatusOr<std::unique_ptr<grpc::Server>> BuildAndStartServer(
    absl::string_view flag, const std::string& address,
    const std::shared_ptr<grpc::ServerCredentials>& creds,
    grpc::Service* service, int* bound_port) {
  grpc::ServerBuilder builder;
  ConfigureServerBuilder(builder);
  builder.AddListeningPort(address, creds, bound_port);
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *bound_port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "--", flag, "=", address,
        ": cannot listen (address in use, not local, or not permitted)"));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  return server;
}

}  // namespace

void ConfigureServerBuilder(grpc::ServerBuilder& builder) {
  // Batches are chunked, but a client may ask for large chunks; requests
  // are tiny. -1 = unlimited.
  builder.SetMaxSendMessageSize(-1);
  builder.SetMaxReceiveMessageSize(4 << 20);
  // Detect dead peers within seconds: ping every 10 s, give up after 5 s.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Clients ping too (see the client's channel args); allow it.
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
}

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& contents) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write '", tmp, "'"));
    }
    out << contents;
    if (!out.flush()) {
      return absl::DataLossError(absl::StrCat("cannot write '", tmp, "'"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot rename '", tmp, "' to '", path, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  INPUTSERVE_RETURN_IF_ERROR(ValidateServerOptions(options));
  // Shuffling is one decision: a shuffle buffer also reshuffles file order.
  options.dataset.shuffle_files = options.shuffle_buffer > 1;
  std::unique_ptr<Server> server(new Server(std::move(options)));
  if (absl::Status s = server->Start(); !s.ok()) {
    server->Shutdown();
    return s;
  }
  return server;
}

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() { Shutdown(); }

// Start-up in steps, each owning one part: pipeline, mode, authenticators,
// services, then the listeners. A failing step leaves the server for
// Create() to shut down.
absl::Status Server::Start() {
  metrics_ = std::make_unique<ServerMetrics>();
  INPUTSERVE_ASSIGN_OR_RETURN(BatchPtr first, InitializePipeline());
  InitializeMode();
  BatchWireInfo wire;
  wire.shard_index = options_.dataset.shard_index;
  wire.num_shards = options_.dataset.num_shards;
  cache_ =
      std::make_unique<SyntheticBatchCache>(first, wire, options_.chunk_bytes);
  INPUTSERVE_RETURN_IF_ERROR(InitializeAuthenticators());
  InitializeServices(wire);
  INPUTSERVE_RETURN_IF_ERROR(StartGrpc());
  INPUTSERVE_RETURN_IF_ERROR(StartMetrics());
  LogInfo("serving ", options_.dataset.spec, " (batch ", options_.batch_size,
          ", shard ", options_.dataset.shard_index, "/",
          options_.dataset.num_shards, ", mode ",
          ServingModeName(options_.initial_mode), ", ",
          pipeline_->decode_threads(), " decode threads) data port ",
          ports_.data, ", admin port ", ports_.admin, ", metrics port ",
          ports_.metrics);
  return absl::OkStatus();
}

absl::StatusOr<BatchPtr> Server::InitializePipeline() {
  absl::StatusOr<std::unique_ptr<Dataset>> dataset =
      OpenDataset(options_.dataset);
  if (!dataset.ok()) {
    return absl::Status(dataset.status().code(),
                        absl::StrCat("--dataset=", options_.dataset.spec, ": ",
                                     dataset.status().message()));
  }
  PipelineOptions pipeline_options;
  pipeline_options.batch_size = options_.batch_size;
  pipeline_options.decode_threads = options_.decode_threads;
  pipeline_options.prefetch_batches = options_.prefetch_batches;
  pipeline_options.shuffle_buffer = options_.shuffle_buffer;
  pipeline_options.seed = options_.dataset.seed;
  INPUTSERVE_ASSIGN_OR_RETURN(
      pipeline_,
      Pipeline::Create(*std::move(dataset), pipeline_options, metrics_.get()));
  absl::StatusOr<BatchPtr> first = pipeline_->FirstBatch(kFirstBatchTimeout);
  if (!first.ok()) {
    return absl::Status(first.status().code(),
                        absl::StrCat("building the first batch from --dataset=",
                                     options_.dataset.spec, ": ",
                                     first.status().message()));
  }
  return first;
}

void Server::InitializeMode() {
  mode_ = std::make_unique<ModeController>(options_.initial_mode);
  metrics_->mode().Set(options_.initial_mode == ServingMode::kSynthetic);
  mode_->Subscribe([metrics = metrics_.get()](const ModeState& state) {
    metrics->OnModeChange(state.mode);
  });
}

absl::Status Server::InitializeAuthenticators() {
  if (!options_.admin_listen.empty()) {
    if (options_.admin_insecure_no_auth) {
      LogWarning("admin service on ", options_.admin_listen,
                 " accepts every caller (--admin_insecure_no_auth)");
      auth_ = std::make_unique<TokenAuthenticator>(
          TokenAuthenticator::AllowAll());
    } else {
      INPUTSERVE_ASSIGN_OR_RETURN(
          TokenAuthenticator auth,
          TokenAuthenticator::FromFile(options_.admin_token_file));
      auth_ = std::make_unique<TokenAuthenticator>(std::move(auth));
    }
  }
  if (!options_.data_token_file.empty()) {
    INPUTSERVE_ASSIGN_OR_RETURN(
        TokenAuthenticator data_auth,
        TokenAuthenticator::FromFile(options_.data_token_file, absl::Seconds(1),
                                     "data"));
    data_auth_ = std::make_unique<TokenAuthenticator>(std::move(data_auth));
  }
  return absl::OkStatus();
}

void Server::InitializeServices(const BatchWireInfo& wire) {
  InputServiceImpl::Options input_options;
  input_options.auth = data_auth_.get();
  input_options.chunk_bytes = options_.chunk_bytes;
  input_options.max_streams = options_.max_streams;
  input_options.wire = wire;
  input_options.info =
      DescribePipeline(*pipeline_, options_.dataset.spec, wire);
  InitializeOrder();
  input_options.epochs = epochs_.get();
  input_options.info.add_orderings(v1::ORDERING_ARRIVAL);
  if (epochs_ != nullptr) {
    input_options.info.add_orderings(v1::ORDERING_DETERMINISTIC);
    input_options.info.set_order_fingerprint(order_fingerprint_);
  }
  input_service_ = std::make_unique<InputServiceImpl>(
      pipeline_.get(), mode_.get(), cache_.get(), metrics_.get(),
      std::move(input_options));
  if (auth_ == nullptr) return;  // Admin service disabled.
  admin_service_ = std::make_unique<AdminServiceImpl>(
      auth_.get(), mode_.get(), metrics_.get(),
      [this](v1::ServerStatus* status) {
        status->set_active_streams(input_service_->active_streams());
        status->set_uptime_seconds(
            absl::ToDoubleSeconds(absl::Now() - started_));
        status->set_dataset(options_.dataset.spec);
        status->set_batch_size(options_.batch_size);
        status->set_shard_index(options_.dataset.shard_index);
        status->set_num_shards(options_.dataset.num_shards);
        status->set_prefetch_queue_depth(
            static_cast<uint32_t>(pipeline_->queue().size()));
      });
}

void Server::InitializeOrder() {
  absl::StatusOr<std::unique_ptr<EpochPlan>> epochs = EpochPlan::Create(
      &pipeline_->dataset(), options_.dataset.seed,
      options_.dataset.shard_index, options_.dataset.num_shards);
  if (!epochs.ok()) {
    LogInfo("deterministic order unavailable: ", epochs.status().message());
    return;
  }
  epochs_ = *std::move(epochs);
  OrderInputs inputs;
  inputs.seed = options_.dataset.seed;
  inputs.batch_size = static_cast<uint32_t>(options_.batch_size);
  inputs.shard_index = options_.dataset.shard_index;
  inputs.num_shards = options_.dataset.num_shards;
  inputs.examples_per_epoch = epochs_->examples_per_epoch();
  inputs.shape = pipeline_->dataset().shape();
  inputs.image_size = options_.dataset.image_size;
  inputs.augment = options_.dataset.augment;
  order_fingerprint_ = OrderFingerprint(inputs);
}

absl::Status Server::StartGrpc() {
  INPUTSERVE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                              ServerCredentials(options_.tls));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  INPUTSERVE_ASSIGN_OR_RETURN(
      std::unique_ptr<grpc::Server> data,
      BuildAndStartServer("listen", options_.listen, creds,
                          input_service_.get(), &ports_.data));
  data_server_ = std::move(data);
  if (admin_service_ != nullptr) {
    INPUTSERVE_ASSIGN_OR_RETURN(
        std::unique_ptr<grpc::Server> admin,
        BuildAndStartServer("admin_listen", options_.admin_listen, creds,
                            admin_service_.get(), &ports_.admin));
    admin_server_ = std::move(admin);
  }
  return absl::OkStatus();
}

absl::Status Server::StartMetrics() {
  if (options_.metrics_listen.empty()) return absl::OkStatus();
  // prometheus-cpp reports bind failures by throwing; keep that at the edge.
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(options_.metrics_listen);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("--metrics_listen=",
                                               options_.metrics_listen,
                                               ": cannot listen: ", e.what()));
  }
  exposer_->RegisterCollectable(metrics_->registry());
  const std::vector<int> ports = exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "--metrics_listen=", options_.metrics_listen, ": cannot listen"));
  }
  ports_.metrics = ports.front();
  return absl::OkStatus();
}

std::string Server::PortsJson() const {
  return absl::StrCat("{\"data\": ", ports_.data, ", \"admin\": ",
                      ports_.admin, ", \"metrics\": ", ports_.metrics, "}\n");
}

void Server::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  const absl::Time deadline = absl::Now() + options_.drain_timeout;
  // Stopping /metrics (civetweb) takes up to 2 s: do it alongside the drain
  // so it does not add to the exit time (docs/contract.md: within 10 s).
  std::thread stop_metrics([this] { exposer_.reset(); });
  if (data_server_ != nullptr) {
    data_server_->GetHealthCheckService()->Shutdown();
  }
  if (admin_server_ != nullptr) {
    admin_server_->GetHealthCheckService()->Shutdown();
  }
  if (input_service_ != nullptr) {
    input_service_->Drain();
    if (!input_service_->WaitForStreams(deadline)) {
      LogWarning("drain timeout: cancelling ",
                 input_service_->active_streams(), " stream(s)");
    }
  }
  // Streams still open now are cancelled by Shutdown after a short grace.
  const auto grpc_deadline =
      std::chrono::system_clock::now() + std::chrono::milliseconds(500);
  if (data_server_ != nullptr) data_server_->Shutdown(grpc_deadline);
  if (admin_server_ != nullptr) admin_server_->Shutdown(grpc_deadline);
  if (pipeline_ != nullptr) pipeline_->Stop();
  if (data_server_ != nullptr) data_server_->Wait();
  if (admin_server_ != nullptr) admin_server_->Wait();
  stop_metrics.join();
}

}  // namespace inputserve
