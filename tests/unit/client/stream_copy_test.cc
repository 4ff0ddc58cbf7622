#include "client/transport/stream_copy.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "client/transport/chunk_parser.h"
#include "gtest/gtest.h"

namespace inputserve::client_internal {
namespace {

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (uint8_t& b : v) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 24);
  }
  return v;
}

// Every size class (below the threshold, at it, with a tail that is not a
// whole line) at every destination alignment: the bytes arrive, and the
// guard bytes around the destination stay untouched.
TEST(StreamCopyTest, CopiesExactlyAtEveryAlignment) {
  constexpr uint8_t kGuard = 0xA5;
  for (size_t n : {size_t{0}, size_t{1}, size_t{63}, kStreamCopyMinBytes - 1,
                   kStreamCopyMinBytes, kStreamCopyMinBytes + 17,
                   size_t{1} << 20, (size_t{1} << 20) + 5}) {
    const std::vector<uint8_t> src = Pattern(n + 8, static_cast<uint32_t>(n));
    for (size_t dst_offset = 0; dst_offset < 16; ++dst_offset) {
      for (size_t src_offset : {size_t{0}, size_t{3}}) {
        std::vector<uint8_t> dst(n + 64, kGuard);
        StreamCopy(dst.data() + 16 + dst_offset, src.data() + src_offset, n);
        for (size_t i = 0; i < 16 + dst_offset; ++i) {
          ASSERT_EQ(dst[i], kGuard) << "n=" << n << " before byte " << i;
        }
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(dst[16 + dst_offset + i], src[src_offset + i])
              << "n=" << n << " dst_offset=" << dst_offset << " byte " << i;
        }
        for (size_t i = 16 + dst_offset + n; i < dst.size(); ++i) {
          ASSERT_EQ(dst[i], kGuard) << "n=" << n << " after byte " << i;
        }
      }
    }
  }
}

// A chunk large enough for the streaming path, spread over spans of odd
// sizes, lands in order.
TEST(StreamCopyTest, CopyFromSpansStreamsLargeChunksInOrder) {
  const size_t total = kStreamCopyChunkBytes + 12345;
  const std::vector<uint8_t> all = Pattern(total + 100, 7);
  std::vector<ByteSpan> spans;
  for (size_t at = 0, piece = 1000; at < all.size(); piece = piece * 3 + 1) {
    const size_t n = std::min(piece, all.size() - at);
    spans.push_back({all.data() + at, n});
    at += n;
  }
  // Data starting 100 bytes into the first span (after a header).
  std::vector<uint8_t> dst(total + 1);
  CopyFromSpans(spans, SpanPosition{0, 100}, total, dst.data() + 1);
  for (size_t i = 0; i < total; ++i) {
    ASSERT_EQ(dst[1 + i], all[100 + i]) << "byte " << i;
  }
}

}  // namespace
}  // namespace inputserve::client_internal
