#include "tests/bench/stream/raw_tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace inputserve::bench {
namespace {

absl::Status Errno(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Closes the descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// gRPC sets TCP_NODELAY on its sockets; do the same for a like-for-like path.
void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

ThreadUsage UsageNow() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  auto seconds = [](const timeval& tv) {
    return tv.tv_sec + tv.tv_usec * 1e-6;
  };
  ThreadUsage u;
  u.user_seconds = seconds(ru.ru_utime);
  u.system_seconds = seconds(ru.ru_stime);
  u.minor_faults = ru.ru_minflt;
  u.major_faults = ru.ru_majflt;
  u.voluntary_switches = ru.ru_nvcsw;
  u.involuntary_switches = ru.ru_nivcsw;
  return u;
}

ThreadUsage Minus(const ThreadUsage& a, const ThreadUsage& b) {
  return {a.user_seconds - b.user_seconds,
          a.system_seconds - b.system_seconds,
          a.minor_faults - b.minor_faults,
          a.major_faults - b.major_faults,
          a.voluntary_switches - b.voluntary_switches,
          a.involuntary_switches - b.involuntary_switches};
}

// Restores the calling thread's CPU mask on scope exit.
class AffinityRestorer {
 public:
  AffinityRestorer() {
    saved_ = sched_getaffinity(0, sizeof(mask_), &mask_) == 0;
  }
  ~AffinityRestorer() {
    if (saved_) sched_setaffinity(0, sizeof(mask_), &mask_);
  }

 private:
  cpu_set_t mask_;
  bool saved_ = false;
};

}  // namespace

absl::Status PinThisThread(int cpu) {
  if (cpu < 0) return absl::OkStatus();
  if (cpu >= CPU_SETSIZE) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpu ", cpu, " is too large"));
  }
  cpu_set_t mask;
  CPU_ZERO(&mask);
  CPU_SET(cpu, &mask);
  if (sched_setaffinity(0, sizeof(mask), &mask) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot pin a thread to cpu ", cpu, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<RawTcpRun> RunRawTcp(const std::vector<const uint8_t*>& pool,
                                    size_t payload_bytes, int warmup,
                                    int batches, RawTcpPins pins) {
  if (pool.empty() || payload_bytes == 0 || warmup < 1 || batches < 1) {
    return absl::InvalidArgumentError(
        "raw TCP run needs a pool, a payload, warmup >= 1 and batches >= 1");
  }
  AffinityRestorer restore_affinity;
  if (absl::Status s = PinThisThread(pins.receiver_cpu); !s.ok()) return s;
  Fd listener;
  listener.fd = socket(AF_INET, SOCK_STREAM, 0);
  if (listener.fd < 0) return Errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return Errno("bind 127.0.0.1:0");
  }
  socklen_t len = sizeof(addr);
  if (getsockname(listener.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      listen(listener.fd, 1) != 0) {
    return Errno("listen");
  }

  const int total = warmup + batches;
  absl::Status send_status;
  ThreadUsage sender_usage;
  std::thread sender([&] {
    if (absl::Status s = PinThisThread(pins.sender_cpu); !s.ok()) {
      send_status = s;
    }
    ThreadUsage sender_start;
    Fd out;
    out.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (out.fd < 0 || connect(out.fd, reinterpret_cast<sockaddr*>(&addr),
                              sizeof(addr)) != 0) {
      send_status = Errno("connect");
      return;
    }
    NoDelay(out.fd);
    for (int i = 0; i < total; ++i) {
      const uint8_t* p = pool[i % pool.size()];
      size_t left = payload_bytes;
      while (left > 0) {
        // One write() for the whole batch; the kernel splits it.
        const ssize_t n = write(out.fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          send_status = Errno("write");
          return;
        }
        p += n;
        left -= static_cast<size_t>(n);
      }
      if (i == warmup - 1) sender_start = UsageNow();
    }
    sender_usage = Minus(UsageNow(), sender_start);
  });

  Fd in;
  in.fd = accept(listener.fd, nullptr, nullptr);
  if (in.fd < 0) {
    const absl::Status error = Errno("accept");
    // Unblocks the sender's connect/write.
    close(listener.fd);
    listener.fd = -1;
    sender.join();
    return error;
  }
  NoDelay(in.fd);
  // Three destination buffers, touched once so page faults are not timed
  // (the client's prefetch slots are allocated up front too).
  constexpr int kSlots = 3;
  std::vector<std::unique_ptr<uint8_t[]>> slots;
  for (int i = 0; i < kSlots; ++i) {
    slots.emplace_back(new uint8_t[payload_bytes]);
    std::memset(slots.back().get(), 0, payload_bytes);
  }
  RawTcpRun run;
  absl::Time start;
  double cpu_start = 0;
  ThreadUsage receiver_start;
  absl::Status recv_status;
  for (int i = 0; i < total && recv_status.ok(); ++i) {
    uint8_t* dst = slots[i % kSlots].get();
    size_t got = 0;
    while (got < payload_bytes) {
      const ssize_t n = read(in.fd, dst + got, payload_bytes - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        recv_status =
            n == 0 ? absl::DataLossError("sender closed early") : Errno("read");
        break;
      }
      got += static_cast<size_t>(n);
    }
    if (i == warmup - 1) {
      start = absl::Now();
      cpu_start = CpuSeconds();
      receiver_start = UsageNow();
    }
  }
  run.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  run.cpu_seconds = CpuSeconds() - cpu_start;
  run.receiver = Minus(UsageNow(), receiver_start);
  run.batches = static_cast<uint64_t>(batches);
  // A failed read leaves the sender blocked in write(): unblock it.
  if (!recv_status.ok()) shutdown(in.fd, SHUT_RDWR);
  sender.join();
  run.sender = sender_usage;
  if (!send_status.ok()) return send_status;
  if (!recv_status.ok()) return recv_status;
  return run;
}

}  // namespace inputserve::bench
