// HelpListsFlagsOf: makes --help list the flags of one source file. Abseil's
// default only matches files named after the binary, so the server's and the
// tools' --help printed "No flags matched". Call once at the top of main.
#ifndef INPUTSERVE_SERVER_FLAGS_HELP_H_
#define INPUTSERVE_SERVER_FLAGS_HELP_H_

#include <string>

#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace inputserve {

// `file_suffix` is the end of the defining file's path, e.g. "server/main.cc".
inline void HelpListsFlagsOf(absl::string_view file_suffix) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [suffix = std::string(file_suffix)](
                                  absl::string_view file) {
    return absl::EndsWith(file, suffix);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
}

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_FLAGS_HELP_H_
