#include "client/transport/stream_copy.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace inputserve::client_internal {

void StreamCopy(uint8_t* dst, const uint8_t* src, size_t n) {
#if defined(__SSE2__)
  if (n < kStreamCopyMinBytes) {
    std::memcpy(dst, src, n);
    return;
  }
  // Non-temporal stores need 16-byte aligned destinations.
  const size_t head = (16 - (reinterpret_cast<uintptr_t>(dst) & 15)) & 15;
  std::memcpy(dst, src, head);
  dst += head;
  src += head;
  n -= head;
  const size_t lines = n / 64;
  for (size_t i = 0; i < lines; ++i, src += 64, dst += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    const __m128i b =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
    const __m128i c =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 32));
    const __m128i d =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + 48), d);
  }
  // Streaming stores are weakly ordered: make them visible before the slot
  // is handed to another thread.
  _mm_sfence();
  std::memcpy(dst, src, n - lines * 64);
#else
  std::memcpy(dst, src, n);
#endif
}

}  // namespace inputserve::client_internal
