#include "client/transport/receive_memory.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace inputserve::client_internal {
namespace {

// The process owner's explicit malloc settings win over ours.
bool UserChoseMallocSettings() {
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr ||
      std::getenv("MALLOC_TOP_PAD_") != nullptr) {
    return true;
  }
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr &&
         std::strstr(tunables, "glibc.malloc.") != nullptr;
}

bool Apply() {
#if defined(__GLIBC__)
  if (UserChoseMallocSettings()) return false;
  // Setting it also fixes the mmap threshold at its default (128 KiB), which
  // only the slots (one mapping each, made once) and other large, long-lived
  // buffers cross.
  return mallopt(M_TRIM_THRESHOLD, static_cast<int>(kReceiveTrimThreshold)) ==
         1;
#else
  return false;
#endif
}

}  // namespace

bool KeepReceiveMemoryResident() {
  static const bool applied = Apply();
  return applied;
}

}  // namespace inputserve::client_internal
