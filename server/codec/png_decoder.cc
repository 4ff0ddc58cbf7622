#include "server/codec/png_decoder.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace inputserve {
namespace {

constexpr unsigned char kPngSignature[8] = {0x89, 'P',  'N',  'G',
                                            '\r', '\n', 0x1a, '\n'};
// Ancillary chunks (text, ICC profiles, ...) never need more than this; a
// hostile file declaring more is refused instead of allocated.
constexpr png_alloc_size_t kMaxChunkBytes = 8 << 20;

// Everything the libpng callbacks touch. Plain data only: a longjmp out of
// libpng must not skip a C++ destructor.
struct ReadState {
  const unsigned char* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  std::jmp_buf jump;
  char message[256] = {0};
};

void ReadCallback(png_structp png, png_bytep out, png_size_t n) {
  auto* s = static_cast<ReadState*>(png_get_io_ptr(png));
  if (n > s->size - s->pos) png_error(png, "unexpected end of PNG data");
  std::memcpy(out, s->data + s->pos, n);
  s->pos += n;
}

[[noreturn]] void ErrorCallback(png_structp png, png_const_charp msg) {
  auto* s = static_cast<ReadState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof(s->message), "%s", msg);
  std::longjmp(s->jump, 1);
}

void WarningCallback(png_structp, png_const_charp) {}

// The part that may longjmp. Rows go straight into `pixels`, which the
// caller sized from the header checked here first. Returns false with
// state->message set on any libpng error.
bool DecodeWithLibpng(png_structp png, png_infop info, ReadState* state,
                      std::vector<uint8_t>* pixels,
                      std::vector<png_bytep>* rows, png_uint_32* width,
                      png_uint_32* height, bool* too_large) {
  if (setjmp(state->jump) != 0) return false;
  png_set_read_fn(png, state, ReadCallback);
  png_set_user_limits(png, kMaxJpegSide, kMaxJpegSide);
  png_set_chunk_malloc_max(png, kMaxChunkBytes);
  png_read_info(png, info);
  *width = png_get_image_width(png, info);
  *height = png_get_image_height(png, info);
  if (static_cast<int64_t>(*width) * *height > kMaxJpegPixels) {
    *too_large = true;
    return false;
  }
  const int color = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  if (depth == 16) png_set_strip_16(png);
  // Expanding a palette or low-depth gray also turns a tRNS chunk into an
  // alpha channel, so strip alpha for those too (PIL drops it as well).
  if ((color & PNG_COLOR_MASK_ALPHA) ||
      png_get_valid(png, info, PNG_INFO_tRNS)) {
    png_set_strip_alpha(png);
  }
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_gray_to_rgb(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != static_cast<size_t>(*width) * 3) {
    png_error(png, "unexpected row layout after conversion to RGB");
  }
  pixels->resize(static_cast<size_t>(*width) * *height * 3);
  rows->resize(*height);
  for (png_uint_32 y = 0; y < *height; ++y) {
    (*rows)[y] = pixels->data() + static_cast<size_t>(y) * *width * 3;
  }
  png_read_image(png, rows->data());
  png_read_end(png, nullptr);
  return true;
}

}  // namespace

bool LooksLikePng(absl::string_view data) {
  return data.size() >= sizeof(kPngSignature) &&
         std::memcmp(data.data(), kPngSignature, sizeof(kPngSignature)) == 0;
}

absl::Status PngDecoder::Decode(absl::string_view png_bytes,
                                DecodedImage* out) {
  if (!LooksLikePng(png_bytes)) {
    return absl::InvalidArgumentError("not a PNG (bad signature)");
  }
  ReadState state;
  state.data = reinterpret_cast<const unsigned char*>(png_bytes.data());
  state.size = png_bytes.size();
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state,
                                           ErrorCallback, WarningCallback);
  if (png == nullptr)
    return absl::InternalError("png_create_read_struct failed");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return absl::InternalError("png_create_info_struct failed");
  }
  png_uint_32 width = 0, height = 0;
  bool too_large = false;
  const bool ok = DecodeWithLibpng(png, info, &state, &out->pixels, &rows_,
                                   &width, &height, &too_large);
  png_destroy_read_struct(&png, &info, nullptr);
  if (too_large) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PNG of ", width, "x", height, " pixels exceeds the limit of ",
        kMaxJpegPixels, " pixels"));
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("corrupt PNG: ", state.message));
  }
  out->width = static_cast<int>(width);
  out->height = static_cast<int>(height);
  out->x = out->y = 0;
  out->scale_denom = 1;
  return absl::OkStatus();
}

}  // namespace inputserve
