#include "server/codec/image_preprocessor.h"

#include <string>
#include <utility>

#include "common/status_macros.h"
#include "server/codec/png_decoder.h"
#include "server/codec/resize.h"
#include "server/codec/rng.h"

namespace inputserve {
namespace {

// Maps a full-size window into a decoded (scaled, offset) block.
WindowF WindowIn(const DecodedImage& img, const CropWindow& w) {
  const double s = 1.0 / img.scale_denom;
  WindowF f;
  f.x = w.x * s - img.x;
  f.y = w.y * s - img.y;
  f.width = w.width * s;
  f.height = w.height * s;
  f.pixel = s;
  return f;
}

}  // namespace

CropPlan PlanCrop(int width, int height, bool augment, uint64_t rng_seed) {
  CropPlan plan;
  if (augment) {
    Rng rng(rng_seed);
    plan.window = RandomResizedCropWindow(width, height, rng);
    plan.flip = rng.Coin();
  } else {
    plan.window = CenterCropWindow(width, height);
  }
  return plan;
}

int ChooseScaleDenom(const CropWindow& window, int min_side, int max_denom) {
  int denom = 1;
  for (int d = 2; d <= max_denom && d <= 8; d *= 2) {
    // Scaled side is ceil(side / d) at worst floor; use floor to be safe.
    if (window.width / d >= min_side && window.height / d >= min_side) {
      denom = d;
    } else {
      break;
    }
  }
  return denom;
}

absl::Status ImagePreprocessor::Process(absl::string_view jpeg,
                                        uint64_t rng_seed, uint8_t* out) {
  return DecodeAndCrop(
      jpeg,
      [&](int w, int h) { return PlanCrop(w, h, options_.augment, rng_seed); },
      out);
}

absl::Status ImagePreprocessor::ProcessReference(absl::string_view jpeg,
                                                 uint64_t rng_seed,
                                                 uint8_t* out) {
  return DecodeFullAndCrop(
      jpeg,
      [&](int w, int h) { return PlanCrop(w, h, options_.augment, rng_seed); },
      1, out);
}

template <typename DecodeFn>
absl::Status ImagePreprocessor::RegionAndCrop(DecodeFn decode, Planner plan,
                                              uint8_t* out) {
  CropPlan chosen;
  absl::StatusOr<JpegHeader> header =
      decode([&](const JpegHeader& h) -> absl::StatusOr<RegionRequest> {
        chosen = plan(h.width, h.height);
        RegionRequest req;
        req.window = chosen.window;
        req.scale_denom = ChooseScaleDenom(chosen.window, options_.out_size,
                                           options_.max_scale_denom);
        return req;
      });
  if (!header.ok()) return header.status();
  RgbView view{decoded_.pixels.data(), decoded_.width, decoded_.height,
               static_cast<size_t>(decoded_.width) * 3};
  CropResizeBilinear(view, WindowIn(decoded_, chosen.window), options_.out_size,
                     options_.out_size, chosen.flip, out);
  return absl::OkStatus();
}

absl::Status ImagePreprocessor::DecodeAndCrop(absl::string_view jpeg,
                                              Planner plan, uint8_t* out) {
  if (LooksLikePng(jpeg)) return DecodePngAndCrop(jpeg, plan, out);
  using RegionPlan =
      absl::FunctionRef<absl::StatusOr<RegionRequest>(const JpegHeader&)>;
  // Parsing stops at the scan header of a JPEG without restart markers.
  if (options_.restart_crops && ParseRestartIndex(jpeg, &index_).ok()) {
    return RegionAndCrop(
        [&](RegionPlan p) {
          return decoder_.DecodeRegionWithRestarts(jpeg, index_, p, &decoded_);
        },
        plan, out);
  }
  return RegionAndCrop(
      [&](RegionPlan p) { return decoder_.DecodeRegion(jpeg, p, &decoded_); },
      plan, out);
}

absl::Status ImagePreprocessor::ProcessRecord(absl::string_view data,
                                              uint64_t key, uint64_t rng_seed,
                                              uint8_t* out) {
  JpegRestartCache* cache = options_.jpeg_cache.get();
  if (cache == nullptr || !options_.restart_crops || LooksLikePng(data)) {
    return Process(data, rng_seed, out);
  }
  // A JPEG already written with restart markers gains nothing from the
  // cache; for others parsing stops at the scan header.
  if (ParseRestartIndex(data, &index_).ok()) {
    return ProcessIndexed(data, index_, rng_seed, out);
  }
  if (JpegRestartCache::EntryPtr hit = cache->Lookup(key)) {
    return ProcessIndexed(hit->jpeg, hit->index, rng_seed, out);
  }
  // The rewrite without optimised Huffman tables is ~10% bigger than the
  // original at most: skip it when that would not fit.
  const int64_t estimate = static_cast<int64_t>(data.size()) * 11 / 10 + 4096;
  if (!cache->HasRoomFor(key, estimate)) return Process(data, rng_seed, out);
  absl::StatusOr<std::string> rewritten =
      RewriteWithRestarts(data, /*optimize_coding=*/false);
  if (!rewritten.ok()) return Process(data, rng_seed, out);  // Its own error.
  auto entry = std::make_shared<JpegRestartCache::Entry>();
  entry->jpeg = *std::move(rewritten);
  if (!ParseRestartIndex(entry->jpeg, &entry->index).ok()) {
    return Process(data, rng_seed, out);
  }
  cache->Insert(key, entry);
  return ProcessIndexed(entry->jpeg, entry->index, rng_seed, out);
}

absl::Status ImagePreprocessor::ProcessIndexed(absl::string_view jpeg,
                                               const RestartIndex& index,
                                               uint64_t rng_seed,
                                               uint8_t* out) {
  using RegionPlan =
      absl::FunctionRef<absl::StatusOr<RegionRequest>(const JpegHeader&)>;
  return RegionAndCrop(
      [&](RegionPlan p) {
        return decoder_.DecodeRegionWithRestarts(jpeg, index, p, &decoded_);
      },
      [&](int w, int h) { return PlanCrop(w, h, options_.augment, rng_seed); },
      out);
}

absl::Status ImagePreprocessor::DecodeFullAndCrop(absl::string_view jpeg,
                                                  Planner plan,
                                                  int full_scale_denom,
                                                  uint8_t* out) {
  if (LooksLikePng(jpeg)) return DecodePngAndCrop(jpeg, plan, out);
  INPUTSERVE_ASSIGN_OR_RETURN(
      JpegHeader header,
      decoder_.DecodeFull(jpeg, full_scale_denom, &decoded_));
  return CropDecoded(plan(header.width, header.height), header.width,
                     header.height, out);
}

absl::Status ImagePreprocessor::DecodePngAndCrop(absl::string_view png,
                                                 Planner plan, uint8_t* out) {
  INPUTSERVE_RETURN_IF_ERROR(png_.Decode(png, &decoded_));
  return CropDecoded(plan(decoded_.width, decoded_.height), decoded_.width,
                     decoded_.height, out);
}

absl::Status ImagePreprocessor::CropDecoded(const CropPlan& chosen,
                                            int full_width, int full_height,
                                            uint8_t* out) {
  const CropWindow& w = chosen.window;
  if (w.width <= 0 || w.height <= 0 || w.x < 0 || w.y < 0 ||
      int64_t{w.x} + w.width > full_width ||
      int64_t{w.y} + w.height > full_height) {
    return absl::InvalidArgumentError("crop window outside the image");
  }
  RgbView view{decoded_.pixels.data(), decoded_.width, decoded_.height,
               static_cast<size_t>(decoded_.width) * 3};
  CropResizeBilinear(view, WindowIn(decoded_, w), options_.out_size,
                     options_.out_size, chosen.flip, out);
  return absl::OkStatus();
}

}  // namespace inputserve
