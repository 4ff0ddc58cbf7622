// libFuzzer target: JPEG decode + crop. The whole input is the JPEG; the
// augmentation seed, output size and scale come from a hash of it, so raw
// JPEG files are valid seeds. Runs the fast path (region decode with DCT
// scaling), the reference path (full decode) and region decodes with
// arbitrary, possibly invalid, crop windows.
#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/hash/hash.h"
#include "server/codec/image_preprocessor.h"
#include "server/codec/jpeg_decoder.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inputserve;
  const absl::string_view jpeg(reinterpret_cast<const char*>(data), size);
  const uint64_t h = absl::HashOf(jpeg);
  static JpegDecoder* decoder = new JpegDecoder();  // Reused, as in workers.

  PreprocessOptions options;
  options.out_size = 8 + static_cast<int>(h % 57);
  options.augment = (h >> 8) & 1;
  options.max_scale_denom = 1 << ((h >> 9) % 4);
  ImagePreprocessor pre(options);
  // Exactly the output bytes, so ASan flags any write past them.
  std::vector<uint8_t> out(static_cast<size_t>(options.out_size) *
                           options.out_size * 3);
  const bool fast_ok = pre.Process(jpeg, h, out.data()).ok();
  const bool ref_ok = pre.ProcessReference(jpeg, h, out.data()).ok();
  (void)fast_ok;
  (void)ref_ok;

  DecodedImage image;
  absl::StatusOr<JpegHeader> header =
      decoder->DecodeFull(jpeg, 1 << ((h >> 11) % 4), &image);
  if (header.ok()) {
    fuzz::Check(image.pixels.size() >=
                    static_cast<size_t>(image.width) * image.height * 3,
                "DecodeFull pixels smaller than width * height * 3");
  }
  // Windows derived from the hash, including ones outside the image and
  // with sides near INT_MAX: they must be refused, not decoded.
  const int raw[4] = {static_cast<int>(h >> 13), static_cast<int>(h >> 29),
                      static_cast<int>(h % 4099), static_cast<int>(h % 3001)};
  absl::StatusOr<JpegHeader> region = decoder->DecodeRegion(
      jpeg,
      [&](const JpegHeader& hd) -> absl::StatusOr<RegionRequest> {
        RegionRequest r;
        if ((h >> 40) & 1) {  // Inside the image.
          r.window.x = static_cast<int>((h >> 13) % hd.width);
          r.window.y = static_cast<int>((h >> 29) % hd.height);
          r.window.width = 1 + raw[2] % (hd.width - r.window.x);
          r.window.height = 1 + raw[3] % (hd.height - r.window.y);
        } else {
          r.window = CropWindow{raw[0], raw[1],
                                ((h >> 42) & 1) ? INT_MAX : raw[2], raw[3]};
        }
        r.scale_denom = 1 << ((h >> 41) % 4);
        return r;
      },
      &image);
  if (region.ok()) {
    fuzz::Check(image.pixels.size() >=
                    static_cast<size_t>(image.width) * image.height * 3,
                "DecodeRegion pixels smaller than width * height * 3");
  }
  return 0;
}
