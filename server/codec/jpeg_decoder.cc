#include "server/codec/jpeg_decoder.h"

// clang-format off
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE.
#include <jpeglib.h>
#include <jerror.h>
#include <turbojpeg.h>
// clang-format on

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/codec/libjpeg_errors.h"

namespace inputserve {
namespace {

constexpr int kRowsPerRead = 16;

// Adobe-style (inverted) CMYK, as libjpeg-turbo writes and most CMYK JPEGs
// hold: R = C*K/255 and so on.
void CmykToRgb(const uint8_t* cmyk, size_t pixels, uint8_t* rgb) {
  for (size_t i = 0; i < pixels; ++i) {
    const int k = cmyk[4 * i + 3];
    rgb[3 * i + 0] = static_cast<uint8_t>((cmyk[4 * i + 0] * k + 127) / 255);
    rgb[3 * i + 1] = static_cast<uint8_t>((cmyk[4 * i + 1] * k + 127) / 255);
    rgb[3 * i + 2] = static_cast<uint8_t>((cmyk[4 * i + 2] * k + 127) / 255);
  }
}

absl::Status CheckScale(int scale_denom) {
  if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 &&
      scale_denom != 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JPEG scale must be 1/1, 1/2, 1/4 or 1/8, got 1/", scale_denom));
  }
  return absl::OkStatus();
}

}  // namespace

// A decompressor whose errors jump back to the caller (LibjpegErrors).
struct JpegDecoder::LibjpegState : LibjpegErrors {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;

  LibjpegState() {
    std::memset(&cinfo, 0, sizeof(cinfo));
    Arm(&err);
    cinfo.err = &err;
    jpeg_create_decompress(&cinfo);
    cinfo.client_data = static_cast<LibjpegErrors*>(this);
    cinfo.progress = &progress;
  }
  ~LibjpegState() { jpeg_destroy_decompress(&cinfo); }
};

absl::Status CheckJpegDimensions(int width, int height) {
  if (width <= 0 || height <= 0 || width > kMaxJpegSide ||
      height > kMaxJpegSide ||
      static_cast<int64_t>(width) * height > kMaxJpegPixels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JPEG is ", width, "x", height, "; sides must be in [1, ", kMaxJpegSide,
        "] and the area at most ", kMaxJpegPixels, " pixels"));
  }
  return absl::OkStatus();
}

JpegDecoder::JpegDecoder() = default;

JpegDecoder::~JpegDecoder() {
  if (turbo_ != nullptr) tjDestroy(turbo_);
}

absl::Status JpegDecoder::ResetLibjpeg() {
  libjpeg_ = std::make_unique<LibjpegState>();
  return absl::OkStatus();
}

absl::Status JpegDecoder::ResetTurbo() {
  if (turbo_ != nullptr) tjDestroy(turbo_);
  turbo_ = tjInitDecompress();
  if (turbo_ == nullptr) {
    return absl::InternalError(
        absl::StrCat("tjInitDecompress failed: ", tjGetErrorStr2(nullptr)));
  }
  return absl::OkStatus();
}

absl::StatusOr<JpegHeader> JpegDecoder::ReadHeader(absl::string_view jpeg) {
  if (turbo_ == nullptr) {
    INPUTSERVE_RETURN_IF_ERROR(ResetTurbo());
  }
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(turbo_,
                          reinterpret_cast<const unsigned char*>(jpeg.data()),
                          jpeg.size(), &w, &h, &subsamp, &colorspace) != 0) {
    const std::string msg = tjGetErrorStr2(turbo_);
    (void)ResetTurbo();  // A failed handle can keep failing: start afresh.
    return absl::DataLossError(absl::StrCat("bad JPEG header: ", msg));
  }
  INPUTSERVE_RETURN_IF_ERROR(CheckJpegDimensions(w, h));
  JpegHeader header;
  header.width = w;
  header.height = h;
  header.cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  header.components = colorspace == TJCS_GRAY ? 1 : (header.cmyk ? 4 : 3);
  return header;
}

absl::StatusOr<JpegHeader> JpegDecoder::DecodeFull(absl::string_view jpeg,
                                                   int scale_denom,
                                                   DecodedImage* out) {
  INPUTSERVE_RETURN_IF_ERROR(CheckScale(scale_denom));
  INPUTSERVE_ASSIGN_OR_RETURN(JpegHeader header, ReadHeader(jpeg));
  const tjscalingfactor sf = {1, scale_denom};
  const int sw = TJSCALED(header.width, sf);
  const int sh = TJSCALED(header.height, sf);
  const size_t pixels = static_cast<size_t>(sw) * sh;
  out->pixels.resize(pixels * 3);
  unsigned char* dst = out->pixels.data();
  int pf = TJPF_RGB;
  if (header.cmyk) {
    cmyk_.resize(pixels * 4);
    dst = cmyk_.data();
    pf = TJPF_CMYK;  // TurboJPEG will not convert CMYK to RGB itself.
  }
  if (tjDecompress2(turbo_, reinterpret_cast<const unsigned char*>(jpeg.data()),
                    jpeg.size(), dst, sw, 0, sh, pf, 0) != 0) {
    const std::string msg = tjGetErrorStr2(turbo_);
    const bool warning = tjGetErrorCode(turbo_) == TJERR_WARNING;
    // Same policy as DecodeRegion: warnings pass, except a cut-short file.
    if (!warning || absl::StrContains(msg, "Premature end")) {
      (void)ResetTurbo();
      return absl::DataLossError(absl::StrCat("corrupt JPEG: ", msg));
    }
  }
  if (header.cmyk) CmykToRgb(cmyk_.data(), pixels, out->pixels.data());
  out->width = sw;
  out->height = sh;
  out->x = out->y = 0;
  out->scale_denom = scale_denom;
  return header;
}

namespace {

JpegHeader HeaderOf(const jpeg_decompress_struct& cinfo) {
  JpegHeader header;
  header.width = static_cast<int>(cinfo.image_width);
  header.height = static_cast<int>(cinfo.image_height);
  header.components = cinfo.num_components;
  header.cmyk =
      cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  return header;
}

// Asks `plan` what to decode of an image with `header` and checks the
// answer: a decodable size, a supported scale, a window inside the image.
absl::StatusOr<RegionRequest> CheckedPlan(
    const JpegHeader& header,
    absl::FunctionRef<absl::StatusOr<RegionRequest>(const JpegHeader&)> plan) {
  INPUTSERVE_RETURN_IF_ERROR(CheckJpegDimensions(header.width, header.height));
  INPUTSERVE_ASSIGN_OR_RETURN(RegionRequest req, plan(header));
  INPUTSERVE_RETURN_IF_ERROR(CheckScale(req.scale_denom));
  const CropWindow& win = req.window;
  if (win.width <= 0 || win.height <= 0 || win.x < 0 || win.y < 0 ||
      // 64-bit sums: a hostile plan's sides near INT_MAX must not wrap
      // around and pass (found by jpeg_fuzz).
      int64_t{win.x} + win.width > header.width ||
      int64_t{win.y} + win.height > header.height) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crop window ", win.width, "x", win.height, "+", win.x, "+", win.y,
        " outside the ", header.width, "x", header.height, " image"));
  }
  return req;
}

// The scaled rows [y0, y1) and columns [xoff, xoff + width) being decoded.
struct ScaledWindow {
  JDIMENSION xoff = 0, width = 0, y0 = 0, y1 = 0;
};

// Starts decompression at the requested scale, crops the columns (widened
// to iMCU boundaries by libjpeg) and skips the rows above the window. Calls
// libjpeg: run it under Guarded(). Scaled pixel i covers original pixels
// [i*denom, (i+1)*denom).
void StartScaledWindow(j_decompress_ptr cinfo, bool cmyk,
                       const RegionRequest& req, ScaledWindow* out) {
  const int denom = req.scale_denom;
  const CropWindow& win = req.window;
  cinfo->scale_num = 1;
  cinfo->scale_denom = static_cast<unsigned int>(denom);
  cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(cinfo);
  const JDIMENSION sw = cinfo->output_width, sh = cinfo->output_height;
  const JDIMENSION x0 = static_cast<JDIMENSION>(win.x / denom);
  const JDIMENSION x1 = std::min<JDIMENSION>(
      sw, static_cast<JDIMENSION>((win.x + win.width + denom - 1) / denom));
  out->y0 = static_cast<JDIMENSION>(win.y / denom);
  out->y1 = std::min<JDIMENSION>(
      sh, static_cast<JDIMENSION>((win.y + win.height + denom - 1) / denom));
  out->xoff = x0;
  out->width = x1 - x0;
  if (out->width < sw) jpeg_crop_scanline(cinfo, &out->xoff, &out->width);
  if (out->y0 > 0) jpeg_skip_scanlines(cinfo, out->y0);
}

// Decodes the window's rows into `base` (`stride` bytes a row); rows below
// it are never decoded. Calls libjpeg: run it under Guarded().
void ReadWindowRows(j_decompress_ptr cinfo, const ScaledWindow& window,
                    uint8_t* base, size_t stride) {
  JSAMPROW row_ptrs[kRowsPerRead];
  while (cinfo->output_scanline < window.y1) {
    const JDIMENSION done = cinfo->output_scanline - window.y0;
    const JDIMENSION want =
        std::min<JDIMENSION>(kRowsPerRead, window.y1 - cinfo->output_scanline);
    for (JDIMENSION i = 0; i < want; ++i) {
      row_ptrs[i] = base + (done + i) * stride;
    }
    jpeg_read_scanlines(cinfo, row_ptrs, want);
  }
}

}  // namespace

absl::StatusOr<JpegHeader> JpegDecoder::DecodeRegion(
    absl::string_view jpeg,
    absl::FunctionRef<absl::StatusOr<RegionRequest>(const JpegHeader&)> plan,
    DecodedImage* out) {
  if (libjpeg_ == nullptr) {
    INPUTSERVE_RETURN_IF_ERROR(ResetLibjpeg());
  }
  if (jpeg.empty()) return absl::DataLossError("empty JPEG");
  LibjpegState* st = libjpeg_.get();
  j_decompress_ptr cinfo = &st->cinfo;
  auto failed = [this, st]() {
    const std::string msg = st->message;
    (void)ResetLibjpeg();  // A failed decompressor can keep failing.
    return absl::DataLossError(absl::StrCat("corrupt JPEG: ", msg));
  };

  if (!Guarded(st, [&] {
        jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(jpeg.data()),
                     jpeg.size());
        jpeg_read_header(cinfo, TRUE);
      })) {
    return failed();
  }
  const JpegHeader header = HeaderOf(*cinfo);
  absl::StatusOr<RegionRequest> req = CheckedPlan(header, plan);
  if (!req.ok()) {
    jpeg_abort_decompress(cinfo);
    return req.status();
  }

  ScaledWindow window;
  if (!Guarded(st,
               [&] { StartScaledWindow(cinfo, header.cmyk, *req, &window); })) {
    return failed();
  }
  const int comps = header.cmyk ? 4 : 3;
  const size_t stride = static_cast<size_t>(cinfo->output_width) * comps;
  const size_t rows = window.y1 - window.y0;
  std::vector<uint8_t>& buf = header.cmyk ? cmyk_ : out->pixels;
  buf.resize(stride * rows);
  if (!Guarded(st,
               [&] { ReadWindowRows(cinfo, window, buf.data(), stride); })) {
    return failed();
  }
  out->width = static_cast<int>(cinfo->output_width);
  out->height = static_cast<int>(rows);
  out->x = static_cast<int>(window.xoff);
  out->y = static_cast<int>(window.y0);
  out->scale_denom = req->scale_denom;
  // The rest of the image is not needed; abort resets the object for reuse.
  jpeg_abort_decompress(cinfo);
  if (header.cmyk) {
    const size_t pixels = static_cast<size_t>(out->width) * out->height;
    out->pixels.resize(pixels * 3);
    CmykToRgb(cmyk_.data(), pixels, out->pixels.data());
  }
  return header;
}

absl::StatusOr<JpegHeader> JpegDecoder::DecodeRegionWithRestarts(
    absl::string_view jpeg, const RestartIndex& index,
    absl::FunctionRef<absl::StatusOr<RegionRequest>(const JpegHeader&)> plan,
    DecodedImage* out) {
  JpegHeader header;
  header.width = index.width;
  header.height = index.height;
  header.components = index.components;
  header.cmyk = index.components == 4;
  INPUTSERVE_ASSIGN_OR_RETURN(const RegionRequest req,
                              CheckedPlan(header, plan));
  const CropWindow& win = req.window;
  INPUTSERVE_RETURN_IF_ERROR(
      CutCrop(jpeg, index,
              McuRectFor(index, win.x, win.y, win.width, win.height), &cut_));
  // Cuts start on MCU boundaries (multiples of 8 pixels), so every DCT
  // scale maps them to whole scaled pixels.
  RegionRequest sub = req;
  sub.window.x -= cut_.x;
  sub.window.y -= cut_.y;
  INPUTSERVE_RETURN_IF_ERROR(
      DecodeRegion(
          cut_.bytes,
          [&](const JpegHeader& h) -> absl::StatusOr<RegionRequest> {
            if (h.width != cut_.width || h.height != cut_.height) {
              return absl::InternalError("cut JPEG has the wrong size");
            }
            return sub;
          },
          out)
          .status());
  out->x += cut_.x / req.scale_denom;
  out->y += cut_.y / req.scale_denom;
  return header;
}

}  // namespace inputserve
