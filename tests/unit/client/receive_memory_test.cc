#include "client/transport/receive_memory.h"

#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

// Sanitizers replace malloc, and mallopt with it.
#if defined(__SANITIZE_ADDRESS__)
#define INPUTSERVE_OWN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define INPUTSERVE_OWN_MALLOC 1
#endif
#endif

namespace inputserve::client_internal {
namespace {

long MinorFaults() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_minflt;
}

// Allocates `count` blocks of 64 KiB (gRPC's large read-slice size), writes
// every page, frees them all; returns the minor faults that took.
long FaultsOfOneRound(int count) {
  const long before = MinorFaults();
  std::vector<char*> blocks;
  for (int i = 0; i < count; ++i) {
    char* p = static_cast<char*>(std::malloc(64 << 10));
    std::memset(p, i, 64 << 10);
    blocks.push_back(p);
  }
  for (char* p : blocks) std::free(p);
  return MinorFaults() - before;
}

TEST(ReceiveMemoryTest, FreedReceiveBuffersStayResident) {
#if defined(INPUTSERVE_OWN_MALLOC) || !defined(__GLIBC__)
  GTEST_SKIP() << "needs glibc's own malloc";
#else
  ASSERT_EQ(std::getenv("MALLOC_TRIM_THRESHOLD_"), nullptr);
  ASSERT_TRUE(KeepReceiveMemoryResident());
  EXPECT_TRUE(KeepReceiveMemoryResident());  // Idempotent.
  constexpr int kBlocks = 512;               // 32 MiB, 8192 pages.
  FaultsOfOneRound(kBlocks);                 // Maps and faults them in once.
  // With glibc's default trim threshold every round faults all 8192 pages
  // in again; kept resident, the second round faults (almost) none.
  EXPECT_LT(FaultsOfOneRound(kBlocks), 8192 / 10);
#endif
}

}  // namespace
}  // namespace inputserve::client_internal
