// CRC-32C (Castagnoli), as used by TFRecord framing, and TFRecord's masking.
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run
// time) and a slicing-by-8 table otherwise. Thread-safe.
#ifndef INPUTSERVE_SERVER_SOURCES_CRC32C_H_
#define INPUTSERVE_SERVER_SOURCES_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace inputserve {

// Extends `crc` (0 to start) with `size` bytes.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);
inline uint32_t Crc32c(const void* data, size_t size) {
  return Crc32cExtend(0, data, size);
}

// TFRecord stores CRCs masked, so that a CRC of data holding CRCs stays
// well distributed.
inline uint32_t MaskCrc(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

// The table path alone, so tests can check it on machines with SSE4.2.
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t size);

// True when the hardware path is in use (reported by benchmarks and tests).
bool Crc32cHardwareAccelerated();

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_CRC32C_H_
