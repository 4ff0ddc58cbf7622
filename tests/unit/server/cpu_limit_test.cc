#include "server/cpu_limit.h"

#include <sys/stat.h>

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace inputserve {
namespace {

using ::inputserve::testing::MakeTempDir;
using ::inputserve::testing::WriteFileOrDie;

// A fake cgroup tree: `root` holds the mount, `self` the /proc/self/cgroup.
struct FakeCgroup {
  FakeCgroup() : root(MakeTempDir("cgroup")) {
    paths.root = root;
    paths.self_cgroup = root + "/self_cgroup";
  }
  void Dir(const std::string& relative) {
    std::string path = root;
    for (size_t at = 0; at != std::string::npos;) {
      const size_t next = relative.find('/', at + 1);
      path = root + relative.substr(0, next);
      ::mkdir(path.c_str(), 0755);
      at = next;
    }
  }
  void File(const std::string& relative, const std::string& contents) {
    Dir(relative.substr(0, relative.rfind('/')));
    WriteFileOrDie(root + relative, contents);
  }
  std::string root;
  CgroupPaths paths;
};

TEST(CpuLimitTest, CgroupV2QuotaRoundsUp) {
  FakeCgroup cg;
  cg.File("/self_cgroup", "0::/\n");
  cg.File("/cpu.max", "400000 100000\n");
  EXPECT_EQ(CgroupCpuQuota(cg.paths), 4);
  cg.File("/cpu.max", "150000 100000\n");  // 1.5 CPUs -> 2 threads.
  EXPECT_EQ(CgroupCpuQuota(cg.paths), 2);
  cg.File("/cpu.max", "10000 100000\n");  // 0.1 CPU -> at least 1.
  EXPECT_EQ(CgroupCpuQuota(cg.paths), 1);
}

TEST(CpuLimitTest, CgroupV2MaxMeansNoLimit) {
  FakeCgroup cg;
  cg.File("/self_cgroup", "0::/\n");
  cg.File("/cpu.max", "max 100000\n");
  EXPECT_EQ(CgroupCpuQuota(cg.paths), std::nullopt);
}

TEST(CpuLimitTest, CgroupV2SmallestQuotaOnThePathWins) {
  FakeCgroup cg;
  cg.File("/self_cgroup", "0::/kubepods/pod1/ctr\n");
  cg.File("/kubepods/cpu.max", "max 100000\n");
  cg.File("/kubepods/pod1/cpu.max", "300000 100000\n");
  cg.File("/kubepods/pod1/ctr/cpu.max", "800000 100000\n");
  EXPECT_EQ(CgroupCpuQuota(cg.paths), 3);
}

TEST(CpuLimitTest, CgroupV1Quota) {
  FakeCgroup cg;
  cg.File("/self_cgroup",
          "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n");
  cg.File("/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "250000\n");
  cg.File("/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(CgroupCpuQuota(cg.paths), 3);
  cg.File("/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
  EXPECT_EQ(CgroupCpuQuota(cg.paths), std::nullopt);
}

TEST(CpuLimitTest, CgroupV1ContainerSeesItsCgroupAtTheMountRoot) {
  // Inside a container /proc/self/cgroup names the host's path, which does
  // not exist under the container's mount: the mount root is the limit.
  FakeCgroup cg;
  cg.File("/self_cgroup", "4:cpu,cpuacct:/docker/abc\n");
  cg.File("/cpu/cpu.cfs_quota_us", "200000\n");
  cg.File("/cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(CgroupCpuQuota(cg.paths), 2);
}

TEST(CpuLimitTest, NoCgroupFilesOrGarbageMeansNoLimit) {
  FakeCgroup cg;
  EXPECT_EQ(CgroupCpuQuota(cg.paths), std::nullopt);
  cg.File("/self_cgroup", "garbage");
  cg.File("/cpu.max", "lots 100000\n");
  EXPECT_EQ(CgroupCpuQuota(cg.paths), std::nullopt);
  cg.File("/cpu.max", "100000 0\n");
  EXPECT_EQ(CgroupCpuQuota(cg.paths), std::nullopt);
}

TEST(CpuLimitTest, UsableCountIsTheSmallerOfAffinityAndQuota) {
  FakeCgroup cg;
  cg.File("/self_cgroup", "0::/\n");
  const int affinity = AffinityCpuCount();
  ASSERT_GE(affinity, 1);
  EXPECT_EQ(UsableCpuCount(cg.paths), affinity);  // No quota.
  cg.File("/cpu.max", "100000 100000\n");
  EXPECT_EQ(UsableCpuCount(cg.paths), 1);
  cg.File("/cpu.max", "100000000 100000\n");  // 1000 CPUs: affinity wins.
  EXPECT_EQ(UsableCpuCount(cg.paths), affinity);
}

TEST(CpuLimitTest, AffinityFollowsTheMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  const int count = AffinityCpuCount();
  ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
  EXPECT_EQ(count, 1);
}

}  // namespace
}  // namespace inputserve
