#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/transport/channel.h"
#include "client/transport/mode_watcher.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/unit/client/fake_input_server.h"

namespace inputserve::client_internal {
namespace {

std::set<int> ThreadIds() {
  std::set<int> ids;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return ids;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ids.insert(std::atoi(e->d_name));
  }
  closedir(dir);
  return ids;
}

// The system call thread `tid` is blocked in (first field of
// /proc/self/task/<tid>/syscall), or -1.
long SyscallOf(int tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long number = -1;
  in >> number;
  return number;
}

bool IsSleep(long syscall) {
#if defined(__x86_64__)
  return syscall == 35 || syscall == 230;  // nanosleep, clock_nanosleep
#else
  return syscall == 101 || syscall == 115;  // aarch64 numbering
#endif
}

struct Seen {
  absl::Mutex mu;
  int statuses ABSL_GUARDED_BY(mu) = 0;
  v1::Mode last ABSL_GUARDED_BY(mu) = v1::MODE_UNSPECIFIED;
};

// A second thread waiting inside gRPC's poller beside a data stream's takes
// the stream's socket reads over and hands every chunk across threads, so
// the watcher waits outside gRPC (asleep) between non-blocking polls, and
// still sees every mode change.
TEST(SinglePollerTest, ModeWatcherWaitsOutsideGrpcAndSeesModeChanges) {
  auto server = testing::FakeInputServer::Start({});
  ChannelSettings settings;
  auto channel = MakeChannel(server->target(),
                             grpc::InsecureChannelCredentials(), settings);
  Seen seen;
  const std::set<int> before = ThreadIds();
  ModeWatcher watcher(0, channel, absl::Milliseconds(10),
                      absl::Milliseconds(100),
                      [&seen](int, const v1::ModeStatus& status, uint64_t) {
                        absl::MutexLock lock(&seen.mu);
                        ++seen.statuses;
                        seen.last = status.mode();
                      });
  auto got = [&seen](int n, v1::Mode mode) {
    return [&seen, n, mode]() {
      absl::MutexLock lock(&seen.mu);
      return seen.statuses >= n && seen.last == mode;
    };
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!got(1, v1::MODE_REAL)() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(got(1, v1::MODE_REAL)());

  // Sample the threads that appeared with the watcher: one of them (the
  // watcher's) is asleep outside gRPC in most samples.
  std::set<int> fresh;
  for (int tid : ThreadIds()) {
    if (before.count(tid) == 0) fresh.insert(tid);
  }
  ASSERT_FALSE(fresh.empty());
  constexpr int kSamples = 50;
  int most_asleep = 0;
  std::map<int, int> asleep;
  for (int i = 0; i < kSamples; ++i) {
    for (int tid : fresh) {
      if (IsSleep(SyscallOf(tid)))
        most_asleep = std::max(most_asleep, ++asleep[tid]);
    }
    absl::SleepFor(absl::Milliseconds(3));
  }
  // Blocked inside gRPC (futex or epoll_wait) it would be asleep in none.
  EXPECT_GE(most_asleep, kSamples / 2);

  server->SetMode(v1::MODE_SYNTHETIC);
  while (!got(2, v1::MODE_SYNTHETIC)() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(got(2, v1::MODE_SYNTHETIC)());
}

}  // namespace
}  // namespace inputserve::client_internal
