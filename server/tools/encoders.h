// Encoders for sample data and tests: PNG through libpng (RGB or gray, 8 or
// 16 bits, optional alpha or palette) and POSIX ustar tar members. Pure
// functions; thread-safe.
#ifndef INPUTSERVE_SERVER_TOOLS_ENCODERS_H_
#define INPUTSERVE_SERVER_TOOLS_ENCODERS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inputserve {

// PNG pixel layouts EncodePng can write from 8-bit RGB input.
enum class PngLayout {
  kRgb8,        // As given.
  kGray8,       // Luma of the RGB pixels.
  kRgba8,       // RGB plus an alpha ramp.
  kRgb16,       // Each sample v stored as v * 257 (high byte == v).
  kPalette8,    // Colours quantised to 3-3-2 bits, as a palette image.
  kGrayAlpha16  // 16-bit luma plus alpha.
};

// Encodes width x height RGB pixels (HWC) as a PNG in `layout`.
absl::StatusOr<std::string> EncodePng(const uint8_t* rgb, int width, int height,
                                      PngLayout layout);

// Appends one regular-file member (ustar header + data + padding) to `out`.
// Names longer than 100 bytes are split into ustar prefix/name when
// possible, otherwise written with a GNU long-name member.
void AppendTarMember(absl::string_view name, absl::string_view data,
                     std::string* out);
// Appends the two zero blocks that end an archive.
void AppendTarEnd(std::string* out);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TOOLS_ENCODERS_H_
