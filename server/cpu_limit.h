// How many CPUs this process may really use: the smaller of its CPU affinity
// mask and its cgroup CPU quota (v2 cpu.max, v1 cpu.cfs_quota_us /
// cpu.cfs_period_us), so `docker run --cpus=4` on a 64-core host counts 4.
// Stateless functions that read /proc and /sys; thread-safe.
#ifndef INPUTSERVE_SERVER_CPU_LIMIT_H_
#define INPUTSERVE_SERVER_CPU_LIMIT_H_

#include <optional>
#include <string>

namespace inputserve {

// Where the cgroup files live; tests point these at fake trees.
struct CgroupPaths {
  std::string root = "/sys/fs/cgroup";            // cgroup2 or v1 mount point
  std::string self_cgroup = "/proc/self/cgroup";  // this process's cgroups
};

// CPUs the cgroup quota allows, rounded up (a quota of 1.5 CPUs is 2), at
// least 1; nullopt when no quota applies or none can be read. The process's
// own cgroup and each ancestor up to the root are checked (a container sees
// its own cgroup as the root); the smallest quota wins.
std::optional<int> CgroupCpuQuota(const CgroupPaths& paths);

// CPUs in this process's affinity mask (sched_getaffinity); the host's count
// when the mask cannot be read; at least 1.
int AffinityCpuCount();

// min(AffinityCpuCount(), CgroupCpuQuota(paths)), at least 1: the number of
// busy threads this process can run at once.
int UsableCpuCount(const CgroupPaths& paths = CgroupPaths());

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CPU_LIMIT_H_
