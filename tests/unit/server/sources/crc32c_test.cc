#include "server/sources/crc32c.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "server/codec/rng.h"

namespace inputserve {
namespace {

// Bit-at-a-time reference, independent of the table and SSE paths.
uint32_t BitwiseCrc32c(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
  }
  return ~c;
}

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xe3069283u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8a9136aau);  // RFC 3720.
  EXPECT_EQ(Crc32cExtendPortable(0, "123456789", 9), 0xe3069283u);
}

TEST(Crc32cTest, AllPathsAgreeOnEveryLengthAndAlignment) {
  Rng rng(7);
  std::string buf(300, '\0');
  for (char& c : buf) c = static_cast<char>(rng.Next());
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len = 0; len + start <= buf.size(); len += 7) {
      const std::string piece = buf.substr(start, len);
      const uint32_t want = BitwiseCrc32c(piece);
      ASSERT_EQ(Crc32c(piece.data(), piece.size()), want)
          << start << " " << len;
      ASSERT_EQ(Crc32cExtendPortable(0, piece.data(), piece.size()), want);
    }
  }
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  const std::string a = "hello, ", b = "tfrecord world";
  EXPECT_EQ(Crc32cExtend(Crc32c(a.data(), a.size()), b.data(), b.size()),
            BitwiseCrc32c(a + b));
}

TEST(Crc32cTest, MaskRotatesBy15AndAddsTheTensorFlowDelta) {
  EXPECT_EQ(MaskCrc(0), 0xa282ead8u);
  EXPECT_EQ(MaskCrc(1), 0xa284ead8u);        // 1 << 17.
  EXPECT_EQ(MaskCrc(0x8000u), 0xa282ead9u);  // Bit 15 wraps to bit 0.
}

}  // namespace
}  // namespace inputserve
