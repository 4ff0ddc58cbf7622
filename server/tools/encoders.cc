#include "server/tools/encoders.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace inputserve {
namespace {

struct WriteState {
  std::string* out = nullptr;
  std::jmp_buf jump;
  char message[256] = {0};
};

void WriteCallback(png_structp png, png_bytep data, png_size_t n) {
  auto* s = static_cast<WriteState*>(png_get_io_ptr(png));
  s->out->append(reinterpret_cast<const char*>(data), n);
}
void FlushCallback(png_structp) {}
[[noreturn]] void ErrorCallback(png_structp png, png_const_charp msg) {
  auto* s = static_cast<WriteState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof(s->message), "%s", msg);
  std::longjmp(s->jump, 1);
}
void WarningCallback(png_structp, png_const_charp) {}

uint8_t Luma(const uint8_t* p) {
  return static_cast<uint8_t>((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
}

// Converts RGB to the layout's rows; sets the PNG header fields.
void Convert(const uint8_t* rgb, int width, int height, PngLayout layout,
             std::vector<uint8_t>* pixels, size_t* row_bytes, int* color,
             int* depth, std::vector<png_color>* palette) {
  const size_t n = static_cast<size_t>(width) * height;
  auto put16 = [](uint8_t* p, uint8_t v) {
    p[0] = v;
    p[1] = v;
  };
  switch (layout) {
    case PngLayout::kRgb8:
      pixels->assign(rgb, rgb + n * 3);
      *color = PNG_COLOR_TYPE_RGB, *depth = 8, *row_bytes = width * 3;
      break;
    case PngLayout::kGray8:
      pixels->resize(n);
      for (size_t i = 0; i < n; ++i) (*pixels)[i] = Luma(rgb + 3 * i);
      *color = PNG_COLOR_TYPE_GRAY, *depth = 8, *row_bytes = width;
      break;
    case PngLayout::kRgba8:
      pixels->resize(n * 4);
      for (size_t i = 0; i < n; ++i) {
        std::memcpy(pixels->data() + 4 * i, rgb + 3 * i, 3);
        (*pixels)[4 * i + 3] = static_cast<uint8_t>(i * 255 / (n ? n : 1));
      }
      *color = PNG_COLOR_TYPE_RGB_ALPHA, *depth = 8, *row_bytes = width * 4;
      break;
    case PngLayout::kRgb16:
      pixels->resize(n * 6);
      for (size_t i = 0; i < n * 3; ++i) put16(pixels->data() + 2 * i, rgb[i]);
      *color = PNG_COLOR_TYPE_RGB, *depth = 16, *row_bytes = width * 6;
      break;
    case PngLayout::kPalette8: {
      palette->resize(256);
      for (int c = 0; c < 256; ++c) {
        // 3-3-2 bits, scaled back to the full range.
        (*palette)[c].red = static_cast<png_byte>(((c >> 5) & 7) * 255 / 7);
        (*palette)[c].green = static_cast<png_byte>(((c >> 2) & 7) * 255 / 7);
        (*palette)[c].blue = static_cast<png_byte>((c & 3) * 255 / 3);
      }
      pixels->resize(n);
      for (size_t i = 0; i < n; ++i) {
        const uint8_t* p = rgb + 3 * i;
        (*pixels)[i] = static_cast<uint8_t>((p[0] >> 5) << 5 |
                                            (p[1] >> 5) << 2 | p[2] >> 6);
      }
      *color = PNG_COLOR_TYPE_PALETTE, *depth = 8, *row_bytes = width;
      break;
    }
    case PngLayout::kGrayAlpha16:
      pixels->resize(n * 4);
      for (size_t i = 0; i < n; ++i) {
        put16(pixels->data() + 4 * i, Luma(rgb + 3 * i));
        put16(pixels->data() + 4 * i + 2, 200);
      }
      *color = PNG_COLOR_TYPE_GRAY_ALPHA, *depth = 16, *row_bytes = width * 4;
      break;
  }
}

bool WritePng(png_structp png, png_infop info, WriteState* state, int width,
              int height, int color, int depth,
              const std::vector<png_color>& palette,
              std::vector<png_bytep>* rows) {
  if (setjmp(state->jump) != 0) return false;
  png_set_write_fn(png, state, WriteCallback, FlushCallback);
  png_set_IHDR(png, info, width, height, depth, color, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!palette.empty()) {
    png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  }
  png_write_info(png, info);
  png_write_image(png, rows->data());
  png_write_end(png, nullptr);
  return true;
}

// Writes an octal field of `len` bytes: len-1 digits and a NUL.
void Octal(char* field, size_t len, uint64_t value) {
  std::snprintf(field, len, "%0*llo", static_cast<int>(len - 1),
                static_cast<unsigned long long>(value));
}

void AppendHeader(absl::string_view name, absl::string_view prefix,
                  uint64_t size, char type, std::string* out) {
  char h[512];
  std::memset(h, 0, sizeof(h));
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  Octal(h + 100, 8, 0644);
  Octal(h + 108, 8, 0);
  Octal(h + 116, 8, 0);
  Octal(h + 124, 12, size);
  Octal(h + 136, 12, 0);
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memcpy(h + 345, prefix.data(), std::min<size_t>(prefix.size(), 155));
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  out->append(h, sizeof(h));
}

void AppendPadded(absl::string_view data, std::string* out) {
  out->append(data.data(), data.size());
  out->append((512 - data.size() % 512) % 512, '\0');
}

}  // namespace

absl::StatusOr<std::string> EncodePng(const uint8_t* rgb, int width, int height,
                                      PngLayout layout) {
  if (width <= 0 || height <= 0) {
    return absl::InvalidArgumentError("PNG needs a positive size");
  }
  std::vector<uint8_t> pixels;
  size_t row_bytes = 0;
  int color = 0, depth = 0;
  std::vector<png_color> palette;
  Convert(rgb, width, height, layout, &pixels, &row_bytes, &color, &depth,
          &palette);
  std::vector<png_bytep> rows(height);
  for (int y = 0; y < height; ++y) rows[y] = pixels.data() + y * row_bytes;
  std::string out;
  WriteState state;
  state.out = &out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state,
                                            ErrorCallback, WarningCallback);
  if (png == nullptr) return absl::InternalError("png_create_write_struct");
  png_infop info = png_create_info_struct(png);
  const bool ok = info != nullptr && WritePng(png, info, &state, width, height,
                                              color, depth, palette, &rows);
  png_destroy_write_struct(&png, &info);
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("PNG encoding failed: ", state.message));
  }
  return out;
}

void AppendTarMember(absl::string_view name, absl::string_view data,
                     std::string* out) {
  if (name.size() <= 100) {
    AppendHeader(name, "", data.size(), '0', out);
  } else {
    const size_t slash = name.rfind('/', 155);
    if (slash != absl::string_view::npos && name.size() - slash - 1 <= 100 &&
        slash > 0) {
      AppendHeader(name.substr(slash + 1), name.substr(0, slash), data.size(),
                   '0', out);
    } else {
      AppendHeader("././@LongLink", "", name.size() + 1, 'L', out);
      AppendPadded(std::string(name) + '\0', out);
      AppendHeader(name.substr(0, 100), "", data.size(), '0', out);
    }
  }
  AppendPadded(data, out);
}

void AppendTarEnd(std::string* out) { out->append(1024, '\0'); }

}  // namespace inputserve
