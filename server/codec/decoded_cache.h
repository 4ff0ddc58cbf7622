// DecodedCache: each image decoded once, kept at a bounded resolution (the
// shorter side at least out_size x margin, never upscaled) in RAM and then
// in an optional spill file (mmap), bounded in bytes and keyed by record
// index, so later epochs crop from pixels instead of decoding JPEG again.
// DecodedCache is thread-safe (decode workers share one); entries are never
// evicted or moved, so a looked-up entry stays valid for the cache's life.
// CachedPreprocessor is per worker thread, like ImagePreprocessor.
#ifndef INPUTSERVE_SERVER_CODEC_DECODED_CACHE_H_
#define INPUTSERVE_SERVER_CODEC_DECODED_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/codec/image_preprocessor.h"
#include "server/codec/jpeg_decoder.h"
#include "server/codec/png_decoder.h"

namespace inputserve {

struct DecodedCacheOptions {
  // "" off, "ram" RAM only, otherwise a local directory that holds the
  // (unlinked, private) spill file used once the RAM share is full.
  std::string where;
  int64_t ram_bytes = int64_t{2} << 30;
  int64_t spill_bytes = int64_t{32} << 30;
  // Shorter side kept = ceil(out_size * margin), or the image's own when
  // that is smaller.
  double margin = 1.25;
  // Metric hooks (may be empty): a lookup found / did not find its record;
  // the bytes held changed to the argument.
  std::function<void()> on_hit;
  std::function<void()> on_miss;
  std::function<void(int64_t)> on_bytes;

  bool enabled() const { return !where.empty(); }
};

// Checks the ranges; the message names the --decoded_cache* flag.
absl::Status ValidateDecodedCacheOptions(const DecodedCacheOptions& options);

// The resolution an image of full_width x full_height is kept at.
struct CachedSize {
  int width = 0;
  int height = 0;
};
CachedSize CachedResolution(int full_width, int full_height, int out_size,
                            double margin);

// One cached image: RGB pixels (width * height * 3, rows packed) standing
// for a full_width x full_height original.
struct DecodedEntry {
  int full_width = 0;
  int full_height = 0;
  int width = 0;
  int height = 0;
  const uint8_t* pixels = nullptr;
};

class DecodedCache {
 public:
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t entries = 0;
    int64_t ram_bytes = 0;    // Pixel bytes held in RAM.
    int64_t spill_bytes = 0;  // Pixel bytes held in the spill file.
  };

  // INVALID_ARGUMENT for bad options, FAILED_PRECONDITION when the spill
  // file cannot be created or mapped.
  static absl::StatusOr<std::unique_ptr<DecodedCache>> Create(
      DecodedCacheOptions options);
  ~DecodedCache();
  DecodedCache(const DecodedCache&) = delete;
  DecodedCache& operator=(const DecodedCache&) = delete;

  // The entry for `index`, counted as a hit, or nullopt, counted as a miss.
  std::optional<DecodedEntry> Lookup(uint64_t index);
  // Whether an entry of `bytes` pixel bytes would still be admitted.
  bool HasRoomFor(int64_t bytes) const;
  // Copies `entry` in. False (and nothing stored) when it is malformed,
  // already present or finds no room: a full cache keeps what it holds
  // rather than evicting, since epochs scan every record once and any
  // eviction would drop entries before their next use.
  bool Insert(uint64_t index, const DecodedEntry& entry);

  double margin() const { return options_.margin; }
  Stats stats() const;

 private:
  explicit DecodedCache(DecodedCacheOptions options)
      : options_(std::move(options)) {}
  absl::Status OpenSpill();
  // Room in the spill file at its end for `bytes`, or nullptr.
  uint8_t* AllocateSpill(int64_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const DecodedCacheOptions options_;
  int spill_fd_ = -1;
  uint8_t* spill_base_ = nullptr;
  int64_t spill_capacity_ = 0;  // Mapped size.

  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, DecodedEntry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<uint8_t[]>> ram_blocks_ ABSL_GUARDED_BY(mu_);
  int64_t ram_used_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t spill_used_ ABSL_GUARDED_BY(mu_) = 0;
  bool spill_full_ ABSL_GUARDED_BY(mu_) = false;  // The disk refused more.
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

// The training/evaluation preprocessing through a DecodedCache: a cached
// record is cropped, resized and flipped from its cached pixels (the crop
// window planned on the full-size image, as the normal path does, and mapped
// to the cached resolution); a missing one is decoded whole (DCT-scaled as
// far as the bound allows), reduced to the cached resolution, stored and
// cropped the same way. Records the full cache cannot take go through
// `fallback`'s normal path. Not thread-safe: one per worker thread.
class CachedPreprocessor {
 public:
  CachedPreprocessor(DecodedCache* cache, ImagePreprocessor* fallback)
      : cache_(cache), fallback_(fallback) {}

  // Writes out_size * out_size * 3 bytes of record `index`.
  absl::Status Process(uint64_t index, absl::string_view encoded,
                       uint64_t rng_seed, uint8_t* out);

 private:
  // The image at the cached resolution `size`, pointing into decoded_ or
  // reduced_ (a PNG is already in decoded_).
  absl::StatusOr<DecodedEntry> DecodeReduced(absl::string_view encoded,
                                             bool png, int full_width,
                                             int full_height,
                                             const CachedSize& size);
  void CropFrom(const DecodedEntry& entry, uint64_t rng_seed, uint8_t* out);

  DecodedCache* const cache_;
  ImagePreprocessor* const fallback_;
  JpegDecoder jpeg_;
  PngDecoder png_;
  DecodedImage decoded_;
  std::vector<uint8_t> reduced_;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CODEC_DECODED_CACHE_H_
