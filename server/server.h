// Server: owns every part of a running inputserve-server (dataset pipeline,
// mode, synthetic cache, gRPC data and admin servers, /metrics) and starts
// and stops them in order.
//
// Create() returns only once the server is listening and the first batch is
// built (so a dataset that yields nothing fails at start-up, not on the first
// request). Shutdown() is thread-safe and idempotent.
#ifndef INPUTSERVE_SERVER_SERVER_H_
#define INPUTSERVE_SERVER_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/pipeline/batch.h"
#include "server/server_options.h"

namespace grpc {
class Server;
class ServerBuilder;
}  // namespace grpc
namespace prometheus {
class Exposer;
}  // namespace prometheus

namespace inputserve {

class AdminServiceImpl;
struct BatchWireInfo;
class EpochPlan;
class InputServiceImpl;
class ModeController;
class Pipeline;
class ServerMetrics;
class SyntheticBatchCache;
class TokenAuthenticator;

// The transport settings every inputserve gRPC server uses (message sizes,
// keepalive); also applied by benchmarks that stand in for the server.
void ConfigureServerBuilder(grpc::ServerBuilder& builder);

struct BoundPorts {
  int data = 0;
  int admin = 0;    // 0 when the admin service is disabled.
  int metrics = 0;  // 0 when /metrics is disabled.
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerOptions options);
  ~Server();

  const BoundPorts& ports() const { return ports_; }
  // {"data": P, "admin": P, "metrics": P}
  std::string PortsJson() const;

  // Health turns NOT_SERVING at once, /metrics stops, new calls are refused
  // with UNAVAILABLE, open streams end with UNAVAILABLE after the batch in
  // flight (or are cancelled after options.drain_timeout), then everything
  // stops: at most drain_timeout + about 0.5 s.
  void Shutdown();

 private:
  explicit Server(ServerOptions options);
  absl::Status Start();
  // The steps of Start(), in order.
  absl::StatusOr<BatchPtr> InitializePipeline();  // Returns the first batch.
  void InitializeMode();
  absl::Status InitializeAuthenticators();
  void InitializeServices(const BatchWireInfo& wire);
  // Builds the deterministic order (epochs_, order_fingerprint_) when the
  // dataset has one.
  void InitializeOrder();
  absl::Status StartGrpc();
  absl::Status StartMetrics();

  const ServerOptions options_;
  const absl::Time started_ = absl::Now();
  BoundPorts ports_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<ModeController> mode_;
  std::unique_ptr<SyntheticBatchCache> cache_;
  std::unique_ptr<TokenAuthenticator> auth_;
  std::unique_ptr<TokenAuthenticator> data_auth_;  // Null: data port open.
  std::unique_ptr<EpochPlan> epochs_;  // Null: no deterministic order.
  uint64_t order_fingerprint_ = 0;
  std::unique_ptr<InputServiceImpl> input_service_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<grpc::Server> data_server_;
  std::unique_ptr<grpc::Server> admin_server_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

// Writes `contents` to `path` atomically (temporary file + rename), so a
// reader polling for the file never sees it half-written.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& contents);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SERVER_H_
