// Minimal logging (Abseil 20220623 has no absl/log): timestamped lines on
// stderr. Thread-safe; each call writes one whole line.
#ifndef INPUTSERVE_SERVER_LOG_H_
#define INPUTSERVE_SERVER_LOG_H_

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace inputserve {

enum class LogLevel { kInfo, kWarning, kError };

void LogLine(LogLevel level, absl::string_view message);

template <typename... Args>
void LogInfo(const Args&... args) {
  LogLine(LogLevel::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void LogWarning(const Args&... args) {
  LogLine(LogLevel::kWarning, absl::StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  LogLine(LogLevel::kError, absl::StrCat(args...));
}

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_LOG_H_
