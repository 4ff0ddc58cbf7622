#include "server/codec/jpeg_restart.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/codec/jpeg_decoder.h"
#include "server/codec/libjpeg_errors.h"

namespace inputserve {
namespace {

// A decompressor and a compressor sharing one error handler
// (LibjpegErrors), and the compressor's output buffer.
struct Transcoder : LibjpegErrors {
  jpeg_decompress_struct src;
  jpeg_compress_struct dst;
  jpeg_error_mgr src_err;
  jpeg_error_mgr dst_err;
  unsigned char* out = nullptr;  // malloc'ed by jpeg_mem_dest.
  unsigned long out_size = 0;    // NOLINT(runtime/int): libjpeg's type.

  Transcoder() {
    std::memset(&src, 0, sizeof(src));
    std::memset(&dst, 0, sizeof(dst));
    Arm(&src_err);
    Arm(&dst_err);
    src.err = &src_err;
    dst.err = &dst_err;
    jpeg_create_decompress(&src);
    jpeg_create_compress(&dst);
    src.client_data = static_cast<LibjpegErrors*>(this);
    dst.client_data = static_cast<LibjpegErrors*>(this);
    src.progress = &progress;
  }
  ~Transcoder() {
    jpeg_destroy_compress(&dst);
    jpeg_destroy_decompress(&src);
    std::free(out);
  }
};

// MCU size in pixels: one 8x8 block for a single component (a
// non-interleaved scan), else 8 times the largest sampling factors.
void McuSize(int components, const int* h, const int* v, int* mcu_w,
             int* mcu_h) {
  int hmax = 1, vmax = 1;
  for (int c = 0; c < components; ++c) {
    hmax = std::max(hmax, h[c]);
    vmax = std::max(vmax, v[c]);
  }
  *mcu_w = components == 1 ? 8 : 8 * hmax;
  *mcu_h = components == 1 ? 8 : 8 * vmax;
}

int CeilDiv(int a, int b) { return (a + b - 1) / b; }

// The restart interval rule stated at kMaxRestartPixels.
int ChooseRestartInterval(int mcus_per_row, int mcu_w) {
  int best = 1;
  for (int d = 1; d * mcu_w <= kMaxRestartPixels && d <= mcus_per_row; ++d) {
    if (mcus_per_row % d == 0) best = d;
  }
  return best;
}

}  // namespace

absl::StatusOr<std::string> RewriteWithRestarts(absl::string_view jpeg,
                                                bool optimize_coding) {
  if (jpeg.empty()) return absl::DataLossError("empty JPEG");
  auto t = std::make_unique<Transcoder>();
  if (!Guarded(t.get(), [&] {
        jpeg_mem_src(&t->src,
                     reinterpret_cast<const unsigned char*>(jpeg.data()),
                     jpeg.size());
        jpeg_read_header(&t->src, TRUE);
      })) {
    return absl::DataLossError(absl::StrCat("corrupt JPEG: ", t->message));
  }
  INPUTSERVE_RETURN_IF_ERROR(
      CheckJpegDimensions(static_cast<int>(t->src.image_width),
                          static_cast<int>(t->src.image_height)));
  const int comps = t->src.num_components;
  if (comps < 1 || comps > 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("JPEG has ", comps, " components; 1 to 4 supported"));
  }
  int h[4], v[4];
  for (int c = 0; c < comps; ++c) {
    h[c] = t->src.comp_info[c].h_samp_factor;
    v[c] = t->src.comp_info[c].v_samp_factor;
  }
  int mcu_w = 0, mcu_h = 0;
  McuSize(comps, h, v, &mcu_w, &mcu_h);
  const int interval = ChooseRestartInterval(
      CeilDiv(static_cast<int>(t->src.image_width), mcu_w), mcu_w);
  if (!Guarded(t.get(), [&] {
        jvirt_barray_ptr* coefs = jpeg_read_coefficients(&t->src);
        jpeg_mem_dest(&t->dst, &t->out, &t->out_size);
        jpeg_copy_critical_parameters(&t->src, &t->dst);
        t->dst.optimize_coding = optimize_coding ? TRUE : FALSE;
        t->dst.restart_interval = static_cast<unsigned int>(interval);
        jpeg_write_coefficients(&t->dst, coefs);
        jpeg_finish_compress(&t->dst);
        jpeg_abort_decompress(&t->src);
      })) {
    return absl::DataLossError(absl::StrCat("corrupt JPEG: ", t->message));
  }
  return std::string(reinterpret_cast<const char*>(t->out), t->out_size);
}

namespace {

constexpr uint8_t kSoi = 0xD8, kEoi = 0xD9, kSos = 0xDA, kDri = 0xDD,
                  kDqt = 0xDB, kDht = 0xC4, kApp0 = 0xE0, kApp14 = 0xEE,
                  kRst0 = 0xD0, kRst7 = 0xD7;

bool IsSof(uint8_t m) {
  return m >= 0xC0 && m <= 0xCF && m != kDht && m != 0xC8 && m != 0xCC;
}

int Be16(const uint8_t* p) { return (p[0] << 8) | p[1]; }

absl::Status Malformed(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("malformed JPEG: ", what));
}

absl::Status NoRestartLayout(absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("JPEG has no usable restart intervals: ", why));
}

// The frame header fields the index needs.
absl::Status ParseSof(const uint8_t* seg, int len, RestartIndex* index,
                      int* sof_components) {
  // seg points after the length field; len excludes it.
  if (len < 6) return Malformed("short SOF");
  if (seg[0] != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("JPEG sample precision ", int{seg[0]}, "; only 8 bits"));
  }
  index->height = Be16(seg + 1);
  index->width = Be16(seg + 3);
  const int comps = seg[5];
  if (comps < 1 || comps > 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("JPEG has ", comps, " components; 1 to 4 supported"));
  }
  if (len != 6 + 3 * comps) return Malformed("SOF length");
  if (index->height == 0) return NoRestartLayout("height set by DNL");
  INPUTSERVE_RETURN_IF_ERROR(CheckJpegDimensions(index->width, index->height));
  int h[4], v[4];
  for (int c = 0; c < comps; ++c) {
    h[c] = seg[6 + 3 * c + 1] >> 4;
    v[c] = seg[6 + 3 * c + 1] & 15;
    if (h[c] < 1 || h[c] > 4 || v[c] < 1 || v[c] > 4) {
      return Malformed("sampling factor outside 1..4");
    }
  }
  index->components = comps;
  *sof_components = comps;
  McuSize(comps, h, v, &index->mcu_width, &index->mcu_height);
  index->mcus_per_row = CeilDiv(index->width, index->mcu_width);
  index->mcu_rows = CeilDiv(index->height, index->mcu_height);
  return absl::OkStatus();
}

// Finds the end of every restart interval in the entropy-coded data from
// `pos` on; fills index->begin/end. Stuffed 0xFF00 bytes are data, runs of
// 0xFF before a marker are fill.
absl::Status ScanIntervals(const uint8_t* data, size_t size, size_t pos,
                           RestartIndex* index) {
  const uint64_t total = static_cast<uint64_t>(index->mcus_per_row) *
                         index->mcu_rows / index->restart_interval;
  index->begin.clear();
  index->end.clear();
  index->begin.push_back(static_cast<uint32_t>(pos));
  while (true) {
    const void* hit =
        pos < size ? std::memchr(data + pos, 0xFF, size - pos) : nullptr;
    if (hit == nullptr) return Malformed("scan data ends without EOI");
    const size_t ff = static_cast<const uint8_t*>(hit) - data;
    size_t m = ff + 1;
    while (m < size && data[m] == 0xFF) ++m;
    if (m >= size) return Malformed("scan data ends without EOI");
    const uint8_t marker = data[m];
    if (marker == 0x00) {
      pos = m + 1;
      continue;
    }
    if (marker >= kRst0 && marker <= kRst7) {
      const size_t seen = index->end.size();
      if (marker - kRst0 != static_cast<int>(seen % 8)) {
        return Malformed("restart markers out of sequence");
      }
      if (seen + 1 >= total)
        return Malformed("more restart intervals than MCUs");
      index->end.push_back(static_cast<uint32_t>(ff));
      index->begin.push_back(static_cast<uint32_t>(m + 1));
      pos = m + 1;
      continue;
    }
    if (marker != kEoi) {
      // A second scan (or anything else) after the first one.
      return NoRestartLayout("more than one scan");
    }
    index->end.push_back(static_cast<uint32_t>(ff));
    if (index->end.size() != total) {
      return Malformed(absl::StrCat(
          index->end.size(), " restart intervals where the image has ", total));
    }
    return absl::OkStatus();
  }
}

}  // namespace

absl::Status ParseRestartIndex(absl::string_view jpeg, RestartIndex* index) {
  const auto* data = reinterpret_cast<const uint8_t*>(jpeg.data());
  const size_t size = jpeg.size();
  if (size < 4 || data[0] != 0xFF || data[1] != kSoi) {
    return Malformed("no SOI marker");
  }
  if (size > UINT32_MAX) return absl::InvalidArgumentError("JPEG over 4 GiB");
  index->header.assign("\xFF\xD8", 2);
  index->restart_interval = 0;
  int sof_components = 0;
  size_t pos = 2;
  while (true) {
    if (pos + 4 > size) return Malformed("headers end before the scan");
    if (data[pos] != 0xFF) return Malformed("expected a marker");
    while (pos + 4 <= size && data[pos + 1] == 0xFF) ++pos;  // Fill bytes.
    if (pos + 4 > size) return Malformed("headers end before the scan");
    const uint8_t marker = data[pos + 1];
    if (marker == kSoi || marker == kEoi ||
        (marker >= kRst0 && marker <= kRst7) || marker == 0x01 ||
        marker == 0x00) {
      return Malformed(absl::StrCat("unexpected marker 0x", absl::Hex(marker),
                                    " before the scan"));
    }
    const int len = Be16(data + pos + 2);
    if (len < 2 || pos + 2 + len > size) return Malformed("segment length");
    const uint8_t* seg = data + pos + 4;
    const int seg_len = len - 2;
    const absl::string_view whole(jpeg.data() + pos, 2 + len);
    if (IsSof(marker)) {
      if (sof_components != 0) return Malformed("two SOF markers");
      if (marker != 0xC0 && marker != 0xC1) {
        return NoRestartLayout("not baseline Huffman (progressive?)");
      }
      INPUTSERVE_RETURN_IF_ERROR(
          ParseSof(seg, seg_len, index, &sof_components));
      index->sof_size_offset = index->header.size() + 5;
      index->header.append(whole.data(), whole.size());
    } else if (marker == kDri) {
      if (seg_len != 2) return Malformed("DRI length");
      index->restart_interval = Be16(seg);
      index->header.append(whole.data(), whole.size());
    } else if (marker == kDqt || marker == kDht || marker == kApp0 ||
               marker == kApp14) {
      index->header.append(whole.data(), whole.size());
    } else if (marker == kSos) {
      if (sof_components == 0) return Malformed("SOS before SOF");
      if (seg_len < 1 || seg_len != 4 + 2 * seg[0]) {
        return Malformed("SOS length");
      }
      if (seg[0] != sof_components) {
        return NoRestartLayout("first scan does not hold every component");
      }
      const uint8_t* tail = seg + 1 + 2 * seg[0];
      if (tail[0] != 0 || tail[1] != 63 || tail[2] != 0) {
        return NoRestartLayout("not a sequential scan");
      }
      if (index->restart_interval == 0) return NoRestartLayout("no DRI");
      if (index->mcus_per_row % index->restart_interval != 0) {
        return NoRestartLayout(absl::StrCat(
            "restart interval ", index->restart_interval,
            " does not divide the ", index->mcus_per_row, " MCUs of a row"));
      }
      index->header.append(whole.data(), whole.size());
      return ScanIntervals(data, size, pos + 2 + len, index);
    }
    pos += 2 + len;
  }
}

McuRect McuRectFor(const RestartIndex& index, int x, int y, int width,
                   int height) {
  McuRect r;
  r.x0 = x / index.mcu_width;
  r.y0 = y / index.mcu_height;
  r.x1 = CeilDiv(x + width, index.mcu_width);
  r.y1 = CeilDiv(y + height, index.mcu_height);
  return r;
}

absl::Status CutCrop(absl::string_view jpeg, const RestartIndex& index,
                     const McuRect& rect, CutJpeg* out) {
  if (rect.x0 < 0 || rect.y0 < 0 || rect.x1 <= rect.x0 || rect.y1 <= rect.y0 ||
      rect.x1 > index.mcus_per_row || rect.y1 > index.mcu_rows ||
      index.restart_interval <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MCU rectangle [", rect.x0, ", ", rect.x1, ") x [", rect.y0, ", ",
        rect.y1, ") outside the ", index.mcus_per_row, "x", index.mcu_rows,
        " MCUs of the image"));
  }
  const int ri = index.restart_interval;
  const int per_row = index.intervals_per_row();
  const size_t total = static_cast<size_t>(per_row) * index.mcu_rows;
  if (index.begin.size() != total || index.end.size() != total ||
      index.end.back() > jpeg.size() ||
      index.sof_size_offset + 4 > index.header.size()) {
    return absl::InvalidArgumentError("restart index does not fit the JPEG");
  }
  const int c0 = rect.x0 / ri;
  const int c1 = CeilDiv(rect.x1, ri);
  out->x = c0 * ri * index.mcu_width;
  out->y = rect.y0 * index.mcu_height;
  out->width = std::min(c1 * ri * index.mcu_width, index.width) - out->x;
  out->height = std::min(rect.y1 * index.mcu_height, index.height) - out->y;

  std::string& b = out->bytes;
  b.assign(index.header);
  b[index.sof_size_offset] = static_cast<char>(out->height >> 8);
  b[index.sof_size_offset + 1] = static_cast<char>(out->height & 0xFF);
  b[index.sof_size_offset + 2] = static_cast<char>(out->width >> 8);
  b[index.sof_size_offset + 3] = static_cast<char>(out->width & 0xFF);
  size_t bytes = b.size() + 2;
  for (int row = rect.y0; row < rect.y1; ++row) {
    const size_t first = static_cast<size_t>(row) * per_row;
    bytes += index.end[first + c1 - 1] - index.begin[first + c0] + 2;
  }
  b.reserve(bytes);
  int k = 0;
  for (int row = rect.y0; row < rect.y1; ++row) {
    for (int c = c0; c < c1; ++c, ++k) {
      const size_t i = static_cast<size_t>(row) * per_row + c;
      if (k > 0) {
        b.push_back('\xFF');
        b.push_back(static_cast<char>(kRst0 + ((k - 1) & 7)));
      }
      b.append(jpeg.data() + index.begin[i], index.end[i] - index.begin[i]);
    }
  }
  b.append("\xFF\xD9", 2);
  return absl::OkStatus();
}

}  // namespace inputserve
