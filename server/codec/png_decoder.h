// PngDecoder: PNG bytes to interleaved RGB uint8 through libpng. Grayscale,
// palette, alpha and 16-bit images all come out as 8-bit RGB the way PIL's
// convert("RGB") makes them (palette expanded, gray replicated, alpha
// dropped, 16-bit samples keep their high byte). Corrupt input gives an
// error, never a crash. Keeps scratch between images: not thread-safe, one
// per worker thread.
#ifndef INPUTSERVE_SERVER_CODEC_PNG_DECODER_H_
#define INPUTSERVE_SERVER_CODEC_PNG_DECODER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/codec/jpeg_decoder.h"

namespace inputserve {

// Whether `data` starts with the 8-byte PNG signature.
bool LooksLikePng(absl::string_view data);

class PngDecoder {
 public:
  // Decodes the whole image into `out` (scale_denom 1, x = y = 0). Images
  // beyond kMaxJpegSide per side or kMaxJpegPixels are refused before any
  // pixel memory is allocated.
  absl::Status Decode(absl::string_view png, DecodedImage* out);

 private:
  std::vector<uint8_t*> rows_;  // Row pointers into DecodedImage::pixels.
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CODEC_PNG_DECODER_H_
