// libFuzzer target: restart-marker crops on hostile bytes. The whole input
// is a JPEG (seeds carry restart markers); crop rectangles and the window
// come from a hash of it. Drives the index parser, the compressed-domain
// cutter (rectangles inside and outside the image), the decode of each cut,
// the lossless rewrite, and the preprocessor's restart path. Properties: a
// cut of an indexed JPEG is itself indexable with the cut's size, and a
// rewrite is indexable.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/hash/hash.h"
#include "server/codec/image_preprocessor.h"
#include "server/codec/jpeg_decoder.h"
#include "server/codec/jpeg_restart.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace inputserve;

// Rewrites cost a full transcode: keep them to inputs of moderate size so
// the fuzzer spends its time on the parser and the cutter.
constexpr size_t kMaxRewriteBytes = 1 << 16;

void CheckIndex(const RestartIndex& index, size_t size) {
  const size_t total = static_cast<size_t>(index.mcus_per_row) *
                       index.mcu_rows / index.restart_interval;
  fuzz::Check(index.begin.size() == total && index.end.size() == total,
              "index holds one byte range per restart interval");
  for (size_t i = 0; i < total; ++i) {
    fuzz::Check(index.begin[i] <= index.end[i] && index.end[i] <= size,
                "interval byte range inside the JPEG");
  }
}

void CutAndDecode(absl::string_view jpeg, const RestartIndex& index,
                  uint64_t h) {
  static JpegDecoder* decoder = new JpegDecoder();
  McuRect r;
  if ((h >> 3) & 1) {  // Inside the image.
    r.x0 = static_cast<int>((h >> 5) % index.mcus_per_row);
    r.y0 = static_cast<int>((h >> 17) % index.mcu_rows);
    r.x1 = r.x0 + 1 + static_cast<int>((h >> 29) % (index.mcus_per_row - r.x0));
    r.y1 = r.y0 + 1 + static_cast<int>((h >> 41) % (index.mcu_rows - r.y0));
  } else {
    r = McuRect{
        static_cast<int>(h >> 5) % 70 - 3, static_cast<int>(h >> 17) % 70 - 3,
        static_cast<int>(h >> 29) % 70 - 3, static_cast<int>(h >> 41) % 70 - 3};
  }
  CutJpeg cut;
  if (!CutCrop(jpeg, index, r, &cut).ok()) return;
  RestartIndex sub;
  fuzz::Check(ParseRestartIndex(cut.bytes, &sub).ok(),
              "a cut of an indexed JPEG is indexable");
  fuzz::Check(sub.width == cut.width && sub.height == cut.height,
              "the cut's frame header has the cut's size");
  CheckIndex(sub, cut.bytes.size());
  DecodedImage image;
  absl::StatusOr<JpegHeader> header = decoder->DecodeRegionWithRestarts(
      jpeg, index,
      [&](const JpegHeader& hd) -> absl::StatusOr<RegionRequest> {
        RegionRequest req;
        req.window.x = static_cast<int>((h >> 7) % hd.width);
        req.window.y = static_cast<int>((h >> 19) % hd.height);
        req.window.width =
            1 + static_cast<int>((h >> 31) % (hd.width - req.window.x));
        req.window.height =
            1 + static_cast<int>((h >> 43) % (hd.height - req.window.y));
        req.scale_denom = 1 << ((h >> 55) % 4);
        return req;
      },
      &image);
  if (header.ok()) {
    fuzz::Check(image.pixels.size() >=
                    static_cast<size_t>(image.width) * image.height * 3,
                "restart decode pixels smaller than width * height * 3");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view jpeg(reinterpret_cast<const char*>(data), size);
  const uint64_t h = absl::HashOf(jpeg);
  RestartIndex index;
  if (ParseRestartIndex(jpeg, &index).ok()) {
    CheckIndex(index, size);
    CutAndDecode(jpeg, index, h);
    CutAndDecode(jpeg, index, h * 0x9E3779B97F4A7C15ull + 1);
  }
  PreprocessOptions options;
  options.out_size = 8 + static_cast<int>(h % 41);
  ImagePreprocessor pre(options);
  std::vector<uint8_t> out(static_cast<size_t>(options.out_size) *
                           options.out_size * 3);
  (void)pre.Process(jpeg, h, out.data());
  if (size <= kMaxRewriteBytes) {
    absl::StatusOr<std::string> rewritten = RewriteWithRestarts(jpeg, h & 1);
    if (rewritten.ok()) {
      fuzz::Check(ParseRestartIndex(*rewritten, &index).ok(),
                  "a rewrite is indexable");
    }
  }
  return 0;
}
