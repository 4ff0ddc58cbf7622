// FakeInputServer: an in-process InputService on 127.0.0.1 for client tests.
// Serves deterministic batches (contents computable from sequence and server
// id), switches to synthetic mode on request (every stream then gets batch 0
// with MODE_SYNTHETIC), pushes ModeStatus on WatchMode, counts cancelled
// streams, and can be told to send broken chunk sequences. With
// `deterministic` it also serves deterministic streams: the steps of the
// request's rank plan that fall on its shard, each batch's contents a
// function of (shard, epoch, batch index) only, so twins send equal bytes.
// Thread-safe.
#ifndef INPUTSERVE_TESTS_UNIT_CLIENT_FAKE_INPUT_SERVER_H_
#define INPUTSERVE_TESTS_UNIT_CLIENT_FAKE_INPUT_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/data_order.h"
#include "grpcpp/server.h"
#include "inputserve/v1/input_service.grpc.pb.h"

namespace inputserve::testing {

struct FakeServerOptions {
  int port = 0;  // 0: pick a free one.
  int server_id = 0;
  int batch_size = 8;
  int height = 4;
  int width = 4;
  size_t chunk_bytes = 100;  // Small, so batches span several chunks.
  v1::Mode mode = v1::MODE_REAL;
  // What GetDatasetInfo reports about the shard and its labels.
  uint32_t shard_index = 0;
  uint32_t num_shards = 1;
  uint64_t examples_per_epoch = 80;
  std::vector<std::string> class_names = {"cat", "dog", "emu"};
  // When set, replaces the chunks of every batch (for malformed streams).
  std::function<std::vector<v1::BatchChunk>(uint64_t sequence,
                                            std::vector<v1::BatchChunk> good)>
      mangle;
  // Lists ORDERING_DETERMINISTIC and serves it.
  bool deterministic = false;
  uint64_t order_fingerprint = 42;
  // Deterministic streams: after this many whole batches, send the first
  // chunk of the next one and end the call with UNAVAILABLE (0 = never).
  int break_after = 0;
};

class FakeInputServer {
 public:
  static std::unique_ptr<FakeInputServer> Start(FakeServerOptions options);
  ~FakeInputServer();

  std::string target() const;
  int port() const { return port_; }
  // Changes the mode, bumps the generation and notifies watchers.
  void SetMode(v1::Mode mode);
  uint64_t generation() const;
  int cancelled_streams() const;
  int active_streams() const;
  int streams_opened() const;
  uint64_t batches_sent() const;
  // The deterministic requests received, in order.
  std::vector<v1::StreamBatchesRequest> deterministic_requests() const;
  // Stops serving (in-flight calls are cancelled).
  void Shutdown();

  // Expected contents, for checking what the client hands out.
  static uint8_t ImageByte(int server_id, uint64_t sequence, size_t index);
  static int32_t Label(int server_id, uint64_t sequence, int example);
  size_t image_bytes() const;  // Of the whole batch.
  std::vector<v1::TensorSpec> tensors() const;
  // The chunks of batch `sequence` as this server sends them.
  std::vector<v1::BatchChunk> MakeChunks(uint64_t sequence, v1::Mode mode,
                                         uint64_t generation) const;
  // Deterministic streams: the contents of planned batch `b` are those of
  // MakeChunks(OrderSequence(b.epoch, b.index)) as server `shard`, cut to
  // b.size examples (labels checkable with Label(shard, sequence, e)).
  static uint64_t OrderSequence(uint64_t epoch, uint64_t index) {
    return epoch * 1000 + index;
  }
  std::vector<v1::BatchChunk> MakeOrderedChunks(const PlannedBatch& b,
                                                v1::Mode mode,
                                                uint64_t generation) const;

 private:
  class Service;
  explicit FakeInputServer(FakeServerOptions options);
  // A batch of `rows` examples with contents of (`id`, `sequence`), its
  // header starting from `extra` when given.
  std::vector<v1::BatchChunk> Chunk(uint64_t sequence, v1::Mode mode,
                                    uint64_t generation, int id, int rows,
                                    const v1::BatchHeader* extra) const;

  FakeServerOptions options_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_UNIT_CLIENT_FAKE_INPUT_SERVER_H_
