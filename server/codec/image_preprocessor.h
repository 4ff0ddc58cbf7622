// ImagePreprocessor: JPEG or PNG bytes -> one out_size x out_size RGB training
// (or evaluation) image. The fast path decodes only the crop window, downscaled
// in the DCT domain as far as the window still has out_size pixels per side,
// then resizes and flips in one pass; the reference path decodes the whole
// image at full size first. A JPEG with restart intervals that fit its MCU
// rows (RewriteWithRestarts) takes the restart path: only the intervals
// covering the crop are cut out and decoded. Both share the geometry, so they
// agree up to the filtering that DCT scaling adds. PNGs (recognised by their
// signature) are decoded whole by libpng and take the same crop, resize and
// flip. Not thread-safe: one per worker thread (the JpegRestartCache they
// may share is thread-safe).
#ifndef INPUTSERVE_SERVER_CODEC_IMAGE_PREPROCESSOR_H_
#define INPUTSERVE_SERVER_CODEC_IMAGE_PREPROCESSOR_H_

#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/codec/augment.h"
#include "server/codec/jpeg_cache.h"
#include "server/codec/jpeg_decoder.h"
#include "server/codec/png_decoder.h"

namespace inputserve {

// The geometry applied to one image.
struct CropPlan {
  CropWindow window;  // In full-size source pixels.
  bool flip = false;
};

// Training (augment): random-resized-crop window and a coin flip from
// rng_seed. Evaluation: the center crop of resize-shorter-side, no flip.
CropPlan PlanCrop(int width, int height, bool augment, uint64_t rng_seed);

// Largest denominator in {1, 2, 4, 8}, at most max_denom, that keeps both
// sides of `window` at least min_side pixels after scaling.
int ChooseScaleDenom(const CropWindow& window, int min_side, int max_denom);

struct PreprocessOptions {
  int out_size = 224;
  bool augment = true;
  int max_scale_denom = 8;    // 1 turns DCT-domain scaling off.
  bool restart_crops = true;  // false: decode restart JPEGs like any other.
  // Shared by every preprocessor of a dataset; null: no cache.
  std::shared_ptr<JpegRestartCache> jpeg_cache = nullptr;
};

class ImagePreprocessor {
 public:
  using Planner = absl::FunctionRef<CropPlan(int width, int height)>;

  explicit ImagePreprocessor(const PreprocessOptions& options)
      : options_(options) {}

  // Training/evaluation preprocessing of one image, fast path. Writes
  // out_size * out_size * 3 bytes.
  absl::Status Process(absl::string_view jpeg, uint64_t rng_seed, uint8_t* out);
  // The same through the reference path (full decode, then crop + resize).
  absl::Status ProcessReference(absl::string_view jpeg, uint64_t rng_seed,
                                uint8_t* out);

  // Kernels with the geometry given by `plan`, called with the image size.
  // DecodeAndCrop: scaled region decode (libjpeg), then crop+resize+flip.
  absl::Status DecodeAndCrop(absl::string_view jpeg, Planner plan,
                             uint8_t* out);
  // Process() for record `key` of a dataset. With a jpeg_cache, a JPEG
  // without restart markers is rewritten with them on its first read while
  // the cache has room (then decoded through the restart path at once,
  // cheaper than decoding the original), and later reads start from the
  // cached bytes. Once the cache is full other records take the ordinary
  // fast path: evicting would make a scan over more records than fit pay
  // the rewrite on every read.
  absl::Status ProcessRecord(absl::string_view data, uint64_t key,
                             uint64_t rng_seed, uint8_t* out);
  // The restart path with a ready index of `jpeg` (ParseRestartIndex).
  absl::Status ProcessIndexed(absl::string_view jpeg, const RestartIndex& index,
                              uint64_t rng_seed, uint8_t* out);
  // DecodeFullAndCrop: whole image decoded at 1/full_scale_denom with
  // TurboJPEG (1 = the plain baseline), then crop+resize+flip.
  absl::Status DecodeFullAndCrop(absl::string_view jpeg, Planner plan,
                                 int full_scale_denom, uint8_t* out);

  const PreprocessOptions& options() const { return options_; }

 private:
  // Whole-image PNG decode, then CropDecoded.
  absl::Status DecodePngAndCrop(absl::string_view png, Planner plan,
                                uint8_t* out);
  // Crop + resize + flip of decoded_ (a decode of a full_width x full_height
  // image, possibly scaled) after checking the window lies inside the image.
  absl::Status CropDecoded(const CropPlan& chosen, int full_width,
                           int full_height, uint8_t* out);

  // Decodes through `decode` (a JpegDecoder region method bound to the
  // bytes) the window `plan` picks, at the coarsest adequate scale, then
  // crop+resize+flip.
  template <typename DecodeFn>
  absl::Status RegionAndCrop(DecodeFn decode, Planner plan, uint8_t* out);

  const PreprocessOptions options_;
  JpegDecoder decoder_;
  RestartIndex index_;  // Scratch for DecodeAndCrop.
  PngDecoder png_;
  DecodedImage decoded_;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CODEC_IMAGE_PREPROCESSOR_H_
