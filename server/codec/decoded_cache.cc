#include "server/codec/decoded_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/codec/resize.h"

namespace inputserve {
namespace {

constexpr int64_t kMaxCacheBytes = int64_t{1} << 50;
constexpr double kMaxMargin = 8.0;

int64_t EntryBytes(int width, int height) {
  return int64_t{width} * height * 3;
}

}  // namespace

absl::Status ValidateDecodedCacheOptions(const DecodedCacheOptions& o) {
  if (!o.enabled()) return absl::OkStatus();
  if (o.ram_bytes < 0 || o.ram_bytes > kMaxCacheBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--decoded_cache_bytes=", o.ram_bytes, ": must be in [0, 2^50]"));
  }
  if (o.where == "ram" && o.ram_bytes == 0) {
    return absl::InvalidArgumentError(
        "--decoded_cache=ram with --decoded_cache_bytes=0 could hold nothing");
  }
  if (o.where != "ram" &&
      (o.spill_bytes <= 0 || o.spill_bytes > kMaxCacheBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--decoded_cache_spill_bytes=", o.spill_bytes,
                     ": must be in [1, 2^50] with a spill directory"));
  }
  if (!(o.margin >= 1.0 && o.margin <= kMaxMargin)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--decoded_cache_margin=", o.margin,
                     ": must be in [1, 8] (the cache never upscales)"));
  }
  return absl::OkStatus();
}

CachedSize CachedResolution(int full_width, int full_height, int out_size,
                            double margin) {
  const int target =
      static_cast<int>(std::ceil(std::max(1, out_size) * margin));
  const int shorter = std::min(full_width, full_height);
  if (shorter <= target) return {full_width, full_height};
  const double s = static_cast<double>(target) / shorter;
  CachedSize size;
  size.width = full_width == shorter
                   ? target
                   : std::max<int>(target, std::lround(full_width * s));
  size.height = full_height == shorter && full_width != shorter
                    ? target
                    : std::max<int>(target, std::lround(full_height * s));
  return size;
}

absl::StatusOr<std::unique_ptr<DecodedCache>> DecodedCache::Create(
    DecodedCacheOptions options) {
  INPUTSERVE_RETURN_IF_ERROR(ValidateDecodedCacheOptions(options));
  if (!options.enabled()) {
    return absl::InvalidArgumentError("--decoded_cache is off");
  }
  std::unique_ptr<DecodedCache> cache(new DecodedCache(std::move(options)));
  if (cache->options_.where != "ram") {
    INPUTSERVE_RETURN_IF_ERROR(cache->OpenSpill());
  }
  return cache;
}

absl::Status DecodedCache::OpenSpill() {
  const std::string& dir = options_.where;
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--decoded_cache=", dir,
        ": expected \"ram\" or an existing directory for the spill file"));
  }
  std::string path = absl::StrCat(dir, "/inputserve-decoded-cache-XXXXXX");
  spill_fd_ = mkstemp(path.data());
  if (spill_fd_ < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--decoded_cache=", dir,
                     ": cannot create a spill file: ", std::strerror(errno)));
  }
  // Unlinked at once: the file lives exactly as long as the mapping.
  unlink(path.c_str());
  if (ftruncate(spill_fd_, options_.spill_bytes) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--decoded_cache=", dir, ": cannot size the spill file to ",
        options_.spill_bytes, " bytes: ", std::strerror(errno)));
  }
  void* base = mmap(nullptr, options_.spill_bytes, PROT_READ | PROT_WRITE,
                    MAP_SHARED, spill_fd_, 0);
  if (base == MAP_FAILED) {
    return absl::FailedPreconditionError(
        absl::StrCat("--decoded_cache=", dir,
                     ": cannot map the spill file: ", std::strerror(errno)));
  }
  spill_base_ = static_cast<uint8_t*>(base);
  spill_capacity_ = options_.spill_bytes;
  return absl::OkStatus();
}

DecodedCache::~DecodedCache() {
  if (spill_base_ != nullptr) munmap(spill_base_, spill_capacity_);
  if (spill_fd_ >= 0) close(spill_fd_);
}

std::optional<DecodedEntry> DecodedCache::Lookup(uint64_t index) {
  std::optional<DecodedEntry> found;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = entries_.find(index);
    if (it != entries_.end()) found = it->second;
  }
  std::atomic<uint64_t>& count = found ? hits_ : misses_;
  count.fetch_add(1, std::memory_order_relaxed);
  const std::function<void()>& hook =
      found ? options_.on_hit : options_.on_miss;
  if (hook) hook();
  return found;
}

bool DecodedCache::HasRoomFor(int64_t bytes) const {
  absl::ReaderMutexLock lock(&mu_);
  return ram_used_ + bytes <= options_.ram_bytes ||
         (spill_base_ != nullptr && !spill_full_ &&
          spill_used_ + bytes <= spill_capacity_);
}

uint8_t* DecodedCache::AllocateSpill(int64_t bytes) {
  if (spill_base_ == nullptr || spill_full_ ||
      spill_used_ + bytes > spill_capacity_) {
    return nullptr;
  }
  // Reserve the disk blocks now: a write into a mapping of a full disk
  // would be a SIGBUS instead of an error.
  if (posix_fallocate(spill_fd_, spill_used_, bytes) != 0) {
    spill_full_ = true;
    return nullptr;
  }
  uint8_t* p = spill_base_ + spill_used_;
  spill_used_ += bytes;
  return p;
}

bool DecodedCache::Insert(uint64_t index, const DecodedEntry& entry) {
  if (entry.pixels == nullptr || entry.full_width <= 0 ||
      entry.full_height <= 0 || entry.width <= 0 || entry.height <= 0 ||
      entry.width > entry.full_width || entry.height > entry.full_height ||
      entry.width > kMaxJpegSide || entry.height > kMaxJpegSide) {
    return false;
  }
  const int64_t bytes = EntryBytes(entry.width, entry.height);
  int64_t held = 0;
  {
    absl::MutexLock lock(&mu_);
    if (entries_.contains(index)) return false;
    uint8_t* dst = nullptr;
    if (ram_used_ + bytes <= options_.ram_bytes) {
      // Default-initialised: the copy below writes every byte.
      ram_blocks_.push_back(std::unique_ptr<uint8_t[]>(new uint8_t[bytes]));
      dst = ram_blocks_.back().get();
      ram_used_ += bytes;
    } else {
      dst = AllocateSpill(bytes);
      if (dst == nullptr) return false;
    }
    std::memcpy(dst, entry.pixels, bytes);
    DecodedEntry stored = entry;
    stored.pixels = dst;
    entries_.emplace(index, stored);
    held = ram_used_ + spill_used_;
  }
  if (options_.on_bytes) options_.on_bytes(held);
  return true;
}

DecodedCache::Stats DecodedCache::stats() const {
  Stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  absl::ReaderMutexLock lock(&mu_);
  s.entries = entries_.size();
  s.ram_bytes = ram_used_;
  s.spill_bytes = spill_used_;
  return s;
}

absl::Status CachedPreprocessor::Process(uint64_t index,
                                         absl::string_view encoded,
                                         uint64_t rng_seed, uint8_t* out) {
  if (std::optional<DecodedEntry> hit = cache_->Lookup(index)) {
    CropFrom(*hit, rng_seed, out);
    return absl::OkStatus();
  }
  const int out_size = fallback_->options().out_size;
  const bool png = LooksLikePng(encoded);
  int full_width = 0;
  int full_height = 0;
  if (png) {
    INPUTSERVE_RETURN_IF_ERROR(png_.Decode(encoded, &decoded_));
    full_width = decoded_.width;
    full_height = decoded_.height;
  } else {
    INPUTSERVE_ASSIGN_OR_RETURN(JpegHeader header, jpeg_.ReadHeader(encoded));
    full_width = header.width;
    full_height = header.height;
  }
  const CachedSize size =
      CachedResolution(full_width, full_height, out_size, cache_->margin());
  if (!cache_->HasRoomFor(EntryBytes(size.width, size.height))) {
    if (!png) return fallback_->ProcessRecord(encoded, index, rng_seed, out);
    // Decoded whole either way: cropping from the full decode is exactly
    // the normal path.
    CropFrom({full_width, full_height, full_width, full_height,
              decoded_.pixels.data()},
             rng_seed, out);
    return absl::OkStatus();
  }
  INPUTSERVE_ASSIGN_OR_RETURN(
      DecodedEntry reduced,
      DecodeReduced(encoded, png, full_width, full_height, size));
  cache_->Insert(index, reduced);
  CropFrom(reduced, rng_seed, out);
  return absl::OkStatus();
}

absl::StatusOr<DecodedEntry> CachedPreprocessor::DecodeReduced(
    absl::string_view encoded, bool png, int full_width, int full_height,
    const CachedSize& size) {
  int denom = 1;
  if (!png) {
    // DCT-domain scaling as far as both sides keep the cached resolution.
    for (int d = 2; d <= 8; d *= 2) {
      if (full_width / d < size.width || full_height / d < size.height) break;
      denom = d;
    }
    INPUTSERVE_RETURN_IF_ERROR(
        jpeg_.DecodeFull(encoded, denom, &decoded_).status());
  }
  DecodedEntry entry{full_width, full_height, size.width, size.height,
                     decoded_.pixels.data()};
  if (decoded_.width == size.width && decoded_.height == size.height) {
    return entry;
  }
  reduced_.resize(static_cast<size_t>(EntryBytes(size.width, size.height)));
  const RgbView view{decoded_.pixels.data(), decoded_.width, decoded_.height,
                     static_cast<size_t>(decoded_.width) * 3};
  const double s = 1.0 / denom;
  const WindowF whole{0, 0, full_width * s, full_height * s, s};
  CropResizeBilinear(view, whole, size.width, size.height, /*flip=*/false,
                     reduced_.data());
  entry.pixels = reduced_.data();
  return entry;
}

void CachedPreprocessor::CropFrom(const DecodedEntry& entry, uint64_t rng_seed,
                                  uint8_t* out) {
  const PreprocessOptions& options = fallback_->options();
  const CropPlan plan =
      PlanCrop(entry.full_width, entry.full_height, options.augment, rng_seed);
  const double sx = static_cast<double>(entry.width) / entry.full_width;
  const double sy = static_cast<double>(entry.height) / entry.full_height;
  const WindowF window{plan.window.x * sx, plan.window.y * sy,
                       plan.window.width * sx, plan.window.height * sy,
                       std::sqrt(sx * sy)};
  const RgbView view{entry.pixels, entry.width, entry.height,
                     static_cast<size_t>(entry.width) * 3};
  CropResizeBilinear(view, window, options.out_size, options.out_size,
                     plan.flip, out);
}

}  // namespace inputserve
