// Small measurement helpers shared by the benchmarks: medians and another
// process's CPU time. Stateless; thread-safe.
#ifndef INPUTSERVE_TESTS_BENCH_BENCH_UTIL_H_
#define INPUTSERVE_TESTS_BENCH_BENCH_UTIL_H_

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace inputserve::bench {

inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// utime + stime of every thread of `pid`, from /proc/<pid>/stat.
inline absl::StatusOr<double> ProcessCpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // The command name may hold spaces; fields are counted after its ')'.
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) {
    return absl::NotFoundError(
        absl::StrCat("cannot read /proc/", pid, "/stat"));
  }
  std::vector<std::string> fields =
      absl::StrSplit(text.substr(paren + 2), ' ', absl::SkipEmpty());
  // Fields 14 and 15 of stat(5) are the 12th and 13th after the name.
  double utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtod(fields[11], &utime) ||
      !absl::SimpleAtod(fields[12], &stime)) {
    return absl::DataLossError(
        absl::StrCat("unreadable /proc/", pid, "/stat line"));
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace inputserve::bench

#endif  // INPUTSERVE_TESTS_BENCH_BENCH_UTIL_H_
