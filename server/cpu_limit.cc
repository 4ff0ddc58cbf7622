#include "server/cpu_limit.h"

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"

namespace inputserve {
namespace {

// CPUs for `quota` microseconds per `period`, rounded up; nullopt when the
// pair means "no limit" or is not a valid quota.
std::optional<int> QuotaCpus(int64_t quota, int64_t period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  const int64_t cpus = (quota + period - 1) / period;
  return static_cast<int>(std::clamp<int64_t>(cpus, 1, 1 << 20));
}

// cgroup v2 "cpu.max": "<quota> <period>" or "max <period>".
std::optional<int> ReadCpuMax(const std::string& dir) {
  absl::StatusOr<std::string> text = ReadWholeFile(dir + "/cpu.max");
  if (!text.ok()) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(*text), ' ', absl::SkipEmpty());
  int64_t quota = 0, period = 0;
  if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &quota) ||
      !absl::SimpleAtoi(fields[1], &period)) {
    return std::nullopt;  // "max" (no limit) or unreadable.
  }
  return QuotaCpus(quota, period);
}

// cgroup v1: cpu.cfs_quota_us (-1 = no limit) and cpu.cfs_period_us.
std::optional<int> ReadCfsQuota(const std::string& dir) {
  absl::StatusOr<std::string> quota_text =
      ReadWholeFile(dir + "/cpu.cfs_quota_us");
  absl::StatusOr<std::string> period_text =
      ReadWholeFile(dir + "/cpu.cfs_period_us");
  int64_t quota = 0, period = 0;
  if (!quota_text.ok() || !period_text.ok() ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(*quota_text), &quota) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(*period_text), &period)) {
    return std::nullopt;
  }
  return QuotaCpus(quota, period);
}

std::optional<int> Min(std::optional<int> a, std::optional<int> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// The smallest quota found by `read` in `base + cgroup` and each ancestor
// directory up to `base`.
template <typename Reader>
std::optional<int> SmallestOnPath(const std::string& base,
                                  absl::string_view cgroup, Reader read) {
  std::string path(absl::StripSuffix(cgroup, "/"));
  std::optional<int> smallest;
  for (;;) {
    smallest = Min(smallest, read(base + path));
    if (path.empty()) break;
    const size_t slash = path.rfind('/');
    path.resize(slash == std::string::npos ? 0 : slash);
  }
  return smallest;
}

}  // namespace

std::optional<int> CgroupCpuQuota(const CgroupPaths& paths) {
  // "0::/path" is the unified (v2) hierarchy; "N:cpu,cpuacct:/path" a v1 one.
  std::string v2_cgroup = "/";
  std::string v1_cgroup;
  bool v1_found = false;
  if (absl::StatusOr<std::string> self = ReadWholeFile(paths.self_cgroup);
      self.ok()) {
    for (absl::string_view line : absl::StrSplit(*self, '\n')) {
      std::vector<absl::string_view> f =
          absl::StrSplit(line, absl::MaxSplits(':', 2));
      if (f.size() != 3) continue;
      if (f[0] == "0" && f[1].empty()) v2_cgroup = std::string(f[2]);
      for (absl::string_view controller : absl::StrSplit(f[1], ',')) {
        if (controller == "cpu") {
          v1_cgroup = std::string(f[2]);
          v1_found = true;
        }
      }
    }
  }
  std::optional<int> quota = SmallestOnPath(paths.root, v2_cgroup, ReadCpuMax);
  // v1 mounts the cpu controller at <root>/cpu (often a link to cpu,cpuacct).
  for (const char* mount : {"/cpu", "/cpu,cpuacct"}) {
    const std::string base = paths.root + mount;
    quota = Min(quota,
                SmallestOnPath(base, v1_found ? v1_cgroup : "/", ReadCfsQuota));
  }
  return quota;
}

int AffinityCpuCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    return std::max(1, CPU_COUNT(&set));
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

int UsableCpuCount(const CgroupPaths& paths) {
  int cpus = AffinityCpuCount();
  if (std::optional<int> quota = CgroupCpuQuota(paths)) {
    cpus = std::min(cpus, *quota);
  }
  return std::max(1, cpus);
}

}  // namespace inputserve
