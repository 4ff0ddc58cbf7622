// libFuzzer target: PNG decode + crop. The whole input is the PNG; output
// size, augmentation and seed come from a hash of it, so raw PNG files are
// valid seeds. Runs libpng's decode to RGB, then the preprocessor's fast
// and reference paths (which must agree exactly for PNGs: both decode the
// whole image).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/hash/hash.h"
#include "server/codec/image_preprocessor.h"
#include "server/codec/png_decoder.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inputserve;
  const absl::string_view png(reinterpret_cast<const char*>(data), size);
  const uint64_t h = absl::HashOf(png);
  static PngDecoder* decoder = new PngDecoder();  // Reused, as in workers.
  DecodedImage image;
  if (decoder->Decode(png, &image).ok()) {
    fuzz::Check(image.width > 0 && image.height > 0, "empty decoded PNG");
    fuzz::Check(image.pixels.size() >=
                    static_cast<size_t>(image.width) * image.height * 3,
                "PNG pixels smaller than width * height * 3");
  }
  PreprocessOptions options;
  options.out_size = 8 + static_cast<int>(h % 57);
  options.augment = (h >> 8) & 1;
  ImagePreprocessor pre(options);
  std::vector<uint8_t> fast(static_cast<size_t>(options.out_size) *
                            options.out_size * 3);
  std::vector<uint8_t> reference(fast.size());
  const bool fast_ok = pre.Process(png, h, fast.data()).ok();
  const bool ref_ok = pre.ProcessReference(png, h, reference.data()).ok();
  fuzz::Check(fast_ok == ref_ok, "PNG fast and reference paths disagree");
  if (fast_ok) fuzz::Check(fast == reference, "PNG paths differ in pixels");
  return 0;
}
