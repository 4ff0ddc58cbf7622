// Streaming-level proof that the server sends the synthetic batch with no
// per-send payload copy: the real server data plane (PoolServer: the
// InputServiceImpl, SyntheticBatchCache and gRPC server of inputserve-server)
// runs in this process under a counting malloc, and a client in a child
// process (this binary, re-executed) streams hundreds of synthetic batches.
// Every payload copy a server could make (protobuf serialization, a
// grpc::Slice over a std::string, a copied chunk) is one large allocation per
// send; the test requires the large allocations not to grow with the number
// of batches sent, and shows the counter does catch such a copy.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "inputserve/client.h"
#include "inputserve/v1/common.pb.h"
#include "server/transport/synthetic_cache.h"
#include "tests/bench/stream/pool_server.h"

// ---- Counting allocator: this executable's malloc family forwards to glibc
// and counts allocations of at least kLargeBytes while counting is on.
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {

// A chunk copy is at least kChunkBytes (256 KiB); gRPC's own per-read
// buffers on the server (8 KiB while it only reads window updates) stay
// well below this.
constexpr size_t kLargeBytes = 32 << 10;
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_large_allocations{0};
std::atomic<uint64_t> g_large_bytes{0};
std::atomic<uint64_t> g_all_bytes{0};

void Count(size_t n) {
  if (!g_counting.load(std::memory_order_relaxed)) return;
  g_all_bytes.fetch_add(n, std::memory_order_relaxed);
  if (n >= kLargeBytes) {
    g_large_allocations.fetch_add(1, std::memory_order_relaxed);
    g_large_bytes.fetch_add(n, std::memory_order_relaxed);
  }
}

}  // namespace

extern "C" {
void* malloc(size_t n) {
  Count(n);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  Count(n * size);
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  Count(n);
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* memalign(size_t align, size_t n) {
  Count(n);
  return __libc_memalign(align, n);
}
void* aligned_alloc(size_t align, size_t n) {
  Count(n);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  Count(n);
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}

namespace inputserve::bench {
namespace {

constexpr size_t kChunkBytes = 256 << 10;
const char* g_self = nullptr;

struct Counts {
  uint64_t large_allocations = 0;
  uint64_t large_bytes = 0;
  uint64_t all_bytes = 0;
};

// Runs the client child for `batches` batches while counting allocations in
// this (the server's) process.
Counts StreamAndCount(const std::string& target, int batches) {
  const std::string arg_target = absl::StrCat("--stream_client=", target);
  const std::string arg_batches = absl::StrCat("--batches=", batches);
  std::vector<char*> argv = {const_cast<char*>(g_self),
                             const_cast<char*>(arg_target.c_str()),
                             const_cast<char*>(arg_batches.c_str()), nullptr};
  g_large_allocations = 0;
  g_large_bytes = 0;
  g_all_bytes = 0;
  g_counting = true;
  pid_t pid;
  const int spawned =
      posix_spawn(&pid, g_self, nullptr, nullptr, argv.data(), environ);
  EXPECT_EQ(spawned, 0) << std::strerror(spawned);
  int status = 0;
  if (spawned == 0) waitpid(pid, &status, 0);
  g_counting = false;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "client child failed, status " << status;
  return Counts{g_large_allocations.load(), g_large_bytes.load(),
                g_all_bytes.load()};
}

TEST(SyntheticZeroCopyTest, StreamingTheSyntheticBatchCopiesNoPayload) {
  PoolServerOptions options;
  options.batch_size = 64;  // 64 x (60*91*3 + 4) = 1 MiB.
  options.height = 60;
  options.width = 91;
  options.chunk_bytes = kChunkBytes;
  options.mode = ServingMode::kSynthetic;
  absl::StatusOr<std::unique_ptr<PoolServer>> server =
      PoolServer::Create(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const double payload = static_cast<double>((*server)->payload_bytes());
  ASSERT_EQ(payload, 1 << 20);

  // Connection set-up and first-use allocations are the same for both runs;
  // only per-batch costs differ.
  constexpr int kShort = 10;
  constexpr int kLong = 210;
  const double sent_before = (*server)->bytes_sent();
  const Counts short_run = StreamAndCount((*server)->target(), kShort);
  const Counts long_run = StreamAndCount((*server)->target(), kLong);
  const double sent = (*server)->bytes_sent() - sent_before;
  // The server did stream (at least) every batch the children read.
  ASSERT_GE(sent, (kShort + kLong) * payload);
  // One encoding for the one synthetic generation, however many sends.
  EXPECT_EQ((*server)->cache().encodings(), 1u);

  const double extra_batches = kLong - kShort;
  const double large_growth = static_cast<double>(long_run.large_bytes) -
                              static_cast<double>(short_run.large_bytes);
  std::printf(
      "server-process allocations: %d batches: %llu large (%llu B), %llu B "
      "total; %d batches: %llu large (%llu B), %llu B total; large bytes "
      "per extra batch sent: %.1f (payload %.0f)\n",
      kShort, static_cast<unsigned long long>(short_run.large_allocations),
      static_cast<unsigned long long>(short_run.large_bytes),
      static_cast<unsigned long long>(short_run.all_bytes), kLong,
      static_cast<unsigned long long>(long_run.large_allocations),
      static_cast<unsigned long long>(long_run.large_bytes),
      static_cast<unsigned long long>(long_run.all_bytes),
      large_growth / extra_batches, payload);
  // A copy per send would add >= 1 MiB per batch (200 MiB here). Allow 1%.
  EXPECT_LT(large_growth, 0.01 * extra_batches * payload);
  // Everything the server process allocates per batch sent, of any size
  // (gRPC's frames, read buffers, bookkeeping), stays far below the payload.
  const double all_growth = static_cast<double>(long_run.all_bytes) -
                            static_cast<double>(short_run.all_bytes);
  EXPECT_LT(all_growth / extra_batches, 0.02 * payload);
}

TEST(SyntheticZeroCopyTest, TheCounterSeesACopyingSend) {
  // What a copying server does per chunk: serialize a BatchChunk holding
  // the data. The counter must see it, or the test above proves nothing.
  const std::string data(kChunkBytes, 'x');
  v1::BatchChunk chunk;
  g_large_bytes = 0;
  g_counting = true;
  chunk.set_data(data);
  const std::string wire = chunk.SerializeAsString();
  g_counting = false;
  EXPECT_GE(g_large_bytes.load(), 2 * kChunkBytes);  // set_data + serialize.
  EXPECT_GT(wire.size(), kChunkBytes);
}

// The child: a client that reads `batches` synthetic batches (caching off,
// so each one comes over the wire) and checks they are the synthetic batch.
int RunClientChild(const std::string& target, int batches) {
  ClientOptions o;
  o.targets = {target};
  o.device_kind = DeviceKind::kHost;
  o.cache_synthetic = false;
  o.unavailable_timeout = absl::Seconds(30);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(o);
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.status().ToString().c_str());
    return 1;
  }
  for (int i = 0; i < batches; ++i) {
    absl::StatusOr<const Batch*> batch = (*client)->Next();
    if (!batch.ok() || (*batch)->mode != BatchMode::kSynthetic ||
        (*batch)->from_cache) {
      std::fprintf(stderr, "batch %d: %s\n", i,
                   batch.ok() ? "not a streamed synthetic batch"
                              : batch.status().ToString().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace inputserve::bench

int main(int argc, char** argv) {
  inputserve::bench::g_self = "/proc/self/exe";
  std::string target;
  int batches = 0;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg.rfind("--stream_client=", 0) == 0) {
      target = std::string(arg.substr(16));
    } else if (arg.rfind("--batches=", 0) == 0) {
      if (!absl::SimpleAtoi(arg.substr(10), &batches)) return 2;
    }
  }
  if (!target.empty()) {
    return inputserve::bench::RunClientChild(target, batches);
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
