// JpegDecoder: JPEG to RGB, either the whole image through TurboJPEG or only
// a window of it through the libjpeg API of the same library (which can skip
// rows and crop columns), both with DCT-domain downscaling by 2, 4 or 8.
// Grayscale and CMYK/YCCK input come out as RGB. Corrupt input gives an
// error, never a crash or exit. Holds decompressor handles reused across
// images: not thread-safe, one per worker thread.
#ifndef INPUTSERVE_SERVER_CODEC_JPEG_DECODER_H_
#define INPUTSERVE_SERVER_CODEC_JPEG_DECODER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/codec/augment.h"
#include "server/codec/jpeg_restart.h"

namespace inputserve {

// Limits that keep a hostile header from taking the process's memory.
constexpr int kMaxJpegSide = 16384;
constexpr int64_t kMaxJpegPixels = 100'000'000;

struct JpegHeader {
  int width = 0;
  int height = 0;
  int components = 0;  // 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK.
  bool cmyk = false;
};

// RGB pixels of (part of) an image decoded at 1/scale_denom. (x, y) is the
// block's top-left corner in the scaled image.
struct DecodedImage {
  std::vector<uint8_t> pixels;  // width * height * 3, reused between calls.
  int width = 0;
  int height = 0;
  int x = 0;
  int y = 0;
  int scale_denom = 1;
};

// What to decode, chosen once the header is known.
struct RegionRequest {
  CropWindow window;    // In full-size pixels; must lie inside the image.
  int scale_denom = 1;  // 1, 2, 4 or 8.
};

class JpegDecoder {
 public:
  JpegDecoder();
  ~JpegDecoder();
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  // Header only (TurboJPEG).
  absl::StatusOr<JpegHeader> ReadHeader(absl::string_view jpeg);

  // Whole image at 1/scale_denom through TurboJPEG.
  absl::StatusOr<JpegHeader> DecodeFull(absl::string_view jpeg, int scale_denom,
                                        DecodedImage* out);

  // Reads the header, asks `plan` what to decode, then decodes at least that
  // window (columns widen to iMCU boundaries) at the requested scale; rows
  // below the window are never decoded, rows above are skipped without
  // IDCT or colour conversion. libjpeg API.
  absl::StatusOr<JpegHeader> DecodeRegion(
      absl::string_view jpeg,
      absl::FunctionRef<absl::StatusOr<RegionRequest>(const JpegHeader&)> plan,
      DecodedImage* out);

  // DecodeRegion of a JPEG indexed by ParseRestartIndex: cuts the restart
  // intervals covering the planned window (CutCrop) and region-decodes only
  // that small JPEG, so rows above the window and columns beside it cost no
  // Huffman decoding. `out` is placed in the whole image's coordinates, as
  // DecodeRegion would place it; the header is the whole image's.
  absl::StatusOr<JpegHeader> DecodeRegionWithRestarts(
      absl::string_view jpeg, const RestartIndex& index,
      absl::FunctionRef<absl::StatusOr<RegionRequest>(const JpegHeader&)> plan,
      DecodedImage* out);

 private:
  struct LibjpegState;
  absl::Status ResetLibjpeg();
  absl::Status ResetTurbo();

  std::unique_ptr<LibjpegState> libjpeg_;
  void* turbo_ = nullptr;      // tjhandle
  std::vector<uint8_t> cmyk_;  // Scratch for CMYK before conversion.
  CutJpeg cut_;                // Scratch for DecodeRegionWithRestarts.
};

// Checks a header against the size limits; INVALID_ARGUMENT naming the size.
absl::Status CheckJpegDimensions(int width, int height);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CODEC_JPEG_DECODER_H_
