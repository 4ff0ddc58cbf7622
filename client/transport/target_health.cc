#include "client/transport/target_health.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace inputserve::client_internal {

TargetHealth::TargetHealth(const std::vector<std::string>& targets) {
  for (const std::string& t : targets) Add(t);
}

int TargetHealth::Add(std::string name) {
  absl::MutexLock lock(&mu_);
  entries_.push_back(Entry{std::move(name)});
  return static_cast<int>(entries_.size()) - 1;
}

void TargetHealth::Retire(int target) {
  absl::MutexLock lock(&mu_);
  entries_[target].retired = true;
}

void TargetHealth::Set(int target, std::string status) {
  absl::MutexLock lock(&mu_);
  entries_[target].last = std::move(status);
}

void TargetHealth::CopyName(int target, std::string* out) const {
  absl::MutexLock lock(&mu_);
  out->assign(entries_[target].name);
}

int TargetHealth::live() const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const Entry& e : entries_) n += e.retired ? 0 : 1;
  return n;
}

std::string TargetHealth::Describe() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const Entry& e : entries_) {
    if (e.retired) continue;
    absl::StrAppend(&out, out.empty() ? "" : "; ", e.name, ": ", e.last);
  }
  return out;
}

}  // namespace inputserve::client_internal
