// Copies received payload into a prefetch slot with non-temporal stores on
// x86-64: the slot is written once and read later by a device copy or the
// trainer, usually after more than a cache's worth of other data, so writing
// around the cache saves the read-for-ownership of every destination line.
// Stateless; thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_STREAM_COPY_H_
#define INPUTSERVE_CLIENT_TRANSPORT_STREAM_COPY_H_

#include <cstddef>
#include <cstdint>

namespace inputserve::client_internal {

// Pieces shorter than this are copied with memcpy (the cost of the fence
// and the alignment head is not worth it).
inline constexpr size_t kStreamCopyMinBytes = 16 << 10;

// Chunks at least this large are copied with StreamCopy (see chunk_parser.cc).
inline constexpr size_t kStreamCopyChunkBytes = size_t{1} << 20;

// memcpy(dst, src, n) semantics (no overlap); the stores bypass the cache
// where the CPU supports it. Ordered before later stores by a fence.
void StreamCopy(uint8_t* dst, const uint8_t* src, size_t n);

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_STREAM_COPY_H_
