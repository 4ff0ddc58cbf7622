// ClientOptions: everything a trainer chooses when it creates a Client.
#ifndef INPUTSERVE_CLIENT_OPTIONS_H_
#define INPUTSERVE_CLIENT_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace inputserve {

// Where per-device tensors live.
enum class DeviceKind {
  kAuto,  // CUDA when built with CUDA and num_devices GPUs are present, else
          // host.
  kHost,  // Host memory, one "host device" slice per device (tests, CPU
          // training).
  kCuda,  // CUDA device memory; creation fails when not available.
};

// Which batches a client gets, and in what order.
enum class Ordering {
  // Each batch goes to whichever stream asks first: highest throughput, no
  // order guarantee across consumers.
  kArrival,
  // Rank `rank` of `world_size` gets at step t a batch that is a pure
  // function of the servers' dataset, seed, batch size, shard layout and
  // (rank, world_size, t): resumable from any step, with failover between
  // replicas of a shard costing no batch and repeating none.
  kDeterministic,
};

struct TlsOptions {
  bool enabled = false;
  std::string ca_file;  // PEM roots to verify the server; empty = system roots.
  std::string cert_file;  // PEM client certificate for mTLS; empty = none.
  std::string key_file;   // PEM client key for mTLS.
};

struct ClientOptions {
  // Servers to read from: "host:port", "ipv4:..." or "dns:///name:port"
  // (also "dns:name:port"). All are used; batches are merged in order of
  // arrival. A dns name stands for every address it resolves to (e.g. each
  // pod of a Kubernetes headless Service): each address gets its own
  // streams, as if listed, and TLS still checks the certificate against the
  // name. Create() fails with UNAVAILABLE when a name does not resolve.
  // "dns://server/name:port" (own DNS server) is left to gRPC: one address.
  std::vector<std::string> targets;
  // How often dns names are resolved again, so replicas that come back
  // with a new IP are used and vanished addresses are dropped. A failed or
  // empty answer keeps the current addresses. Zero: resolve only at Create.
  absl::Duration dns_refresh = absl::Seconds(30);
  // 0: one host-memory batch, unsplit. N > 0: the global batch is split into
  // N equal slices, one per device.
  int num_devices = 0;
  DeviceKind device_kind = DeviceKind::kAuto;
  // CUDA: device buffers per GPU that batches rotate through, so the copy of
  // the next batch never lands in memory the trainer may still read. In
  // [2, 64]. Batches being received are copied as they arrive and take a
  // buffer too: when held and arriving batches need more, the ring grows.
  int device_ring_depth = 3;
  // CUDA: the trainer's stream per device (a cudaStream_t each, as void*, in
  // device order), or empty. With streams, a batch is ready on the device
  // when the trainer's stream reaches the point where Next() returned (the
  // stream waits on the copy's event; the host does not), and dropping the
  // batch records an event on that stream: its memory is reused only after
  // the work queued on the stream so far. Without streams, Next() waits on
  // the host for the batch's copy, and dropping a batch means the trainer's
  // work on it has finished. Streams must outlive the batches handed out.
  std::vector<void*> cuda_streams;
  // Batches received ahead of Next() (host memory slots).
  int prefetch_batches = 2;
  // Data streams opened to each target (on separate channels).
  int connections_per_target = 1;
  // Reported to the server for logs and status.
  std::string consumer_id;
  TlsOptions tls;
  // When the servers run with --data_token_file: a file whose first line is
  // that token. It is sent as "authorization: Bearer <token>" on every call
  // (GetDatasetInfo, StreamBatches, WatchMode) and read again for each new
  // call, so a rotated file is used without a restart. Empty: no token.
  std::string data_token_file;
  // Reconnect backoff after UNAVAILABLE (exponential with jitter).
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Next() fails with UNAVAILABLE when no target delivered anything for this
  // long; the error lists each target's last status.
  absl::Duration unavailable_timeout = absl::Seconds(30);
  // Deadline of each GetDatasetInfo call made by Create().
  absl::Duration connect_timeout = absl::Seconds(10);
  // HTTP/2 keepalive ping interval on every channel. gRPC servers by default
  // answer pings more often than every 5 minutes on idle connections with
  // GOAWAY ("too_many_pings"), and the WatchMode stream is idle for long
  // stretches, so the default stays at 5 minutes.
  absl::Duration keepalive_time = absl::Minutes(5);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // When false, synthetic batches are returned like real ones: no device
  // cache, the data stream stays open.
  bool cache_synthetic = true;

  // Data order. The fields after `ordering` apply to kDeterministic only;
  // with kArrival they must keep their defaults (INVALID_ARGUMENT naming
  // the field otherwise). Deterministic: every target must serve the
  // deterministic order, all must agree on batch size and shard count, the
  // replicas of one shard on examples per epoch and order fingerprint, and
  // at least one replica of every shard must answer at Create(). Each shard
  // this rank uses gets one stream at a time to one live replica; a broken
  // stream moves to another replica of the shard (or the same address after
  // backoff) and asks again from exactly the first step still missing. The
  // replicas of each shard are those that answered at Create().
  // Batch::step is the plan's step, Batch::epoch its epoch.
  Ordering ordering = Ordering::kArrival;
  uint32_t rank = 0;
  uint32_t world_size = 1;
  // The first step Next() returns (a resumed trainer's checkpointed step).
  uint64_t start_step = 0;
  // Next() returns OUT_OF_RANGE after the steps of this many epochs
  // (counted from step 0, so a resume ends at the same step); 0 = forever.
  uint64_t num_epochs = 0;
  // true: every rank gets the same number of full batches per epoch (the
  // remainder is dropped). false: every example of an epoch is delivered
  // once; a shard's last batch may be short (see Batch).
  bool drop_remainder = true;
};

}  // namespace inputserve

#endif  // INPUTSERVE_CLIENT_OPTIONS_H_
