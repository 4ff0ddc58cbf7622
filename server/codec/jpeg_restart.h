// Restart-marker crops: a lossless rewrite of a JPEG into baseline with
// short restart intervals, an index of where each interval's bytes lie, and
// a compressed-domain cutter that assembles a small valid JPEG from just the
// intervals covering a crop, so decoding a crop costs Huffman work in
// proportion to its area. Free functions; thread-safe (no shared state).
#ifndef INPUTSERVE_SERVER_CODEC_JPEG_RESTART_H_
#define INPUTSERVE_SERVER_CODEC_JPEG_RESTART_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inputserve {

// Restart intervals are at most this many pixels wide. The rewrite picks the
// longest interval (in MCUs) that divides the MCUs per row and spans at most
// kMaxRestartPixels: 4 MCUs of 16 px for 4:2:0 and 4:2:2, 8 MCUs of 8 px for
// 4:4:4 and grayscale. Every interval then lies inside one MCU row, columns
// cut at 64 px granularity, and the markers add a few percent to the file.
constexpr int kMaxRestartPixels = 64;

// Losslessly rewrites `jpeg` (baseline or progressive, Huffman coded) as a
// baseline JPEG with one interleaved scan and the restart interval above;
// DCT coefficients are untouched, so it decodes to the same pixels. Only the
// markers a decoder needs are written. With optimize_coding the Huffman
// tables are fitted to the image: about 10% smaller output for twice the
// CPU (an extra pass), worth it offline, not on a server's first read.
// DATA_LOSS on corrupt input, INVALID_ARGUMENT on sizes beyond
// kMaxJpegSide/kMaxJpegPixels.
absl::StatusOr<std::string> RewriteWithRestarts(absl::string_view jpeg,
                                                bool optimize_coding = true);

// Where the restart intervals of a single-scan baseline JPEG lie.
struct RestartIndex {
  int width = 0;
  int height = 0;
  int components = 0;
  int mcu_width = 0;  // Pixels.
  int mcu_height = 0;
  int mcus_per_row = 0;
  int mcu_rows = 0;
  int restart_interval = 0;  // MCUs; divides mcus_per_row.
  // SOI and the segments a decoder needs (APP0, APP14, DQT, DHT, SOF, DRI),
  // then the SOS segment; sof_size_offset points at the SOF's height field.
  std::string header;
  size_t sof_size_offset = 0;
  // Interval i's entropy-coded bytes are jpeg[begin[i], end[i]).
  std::vector<uint32_t> begin;
  std::vector<uint32_t> end;

  int intervals_per_row() const { return mcus_per_row / restart_interval; }
};

// Parses `jpeg` into `index` (its buffers are reused). FAILED_PRECONDITION
// when the JPEG is valid for decoding but has no usable restart layout (no
// DRI, progressive, several scans, an interval that does not divide the MCU
// row): callers then decode it the ordinary way. DATA_LOSS or
// INVALID_ARGUMENT on malformed bytes. Never decodes Huffman data; every
// length is bounds-checked.
absl::Status ParseRestartIndex(absl::string_view jpeg, RestartIndex* index);

// A rectangle of MCUs: columns [x0, x1), rows [y0, y1).
struct McuRect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// A JPEG cut from a bigger one and where it lies in the source, in pixels.
struct CutJpeg {
  std::string bytes;  // Reused between calls.
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

// The MCU rectangle covering pixel window [x, x + width) x [y, y + height).
McuRect McuRectFor(const RestartIndex& index, int x, int y, int width,
                   int height);

// Writes to `out` a valid baseline JPEG made of the intervals of `jpeg`
// (indexed as `index`) that cover `rect`, columns widened to whole
// intervals: the same tables, a new SOF size, RST markers renumbered from 0.
// Compressed domain only. INVALID_ARGUMENT if `rect` is empty or outside the
// image.
absl::Status CutCrop(absl::string_view jpeg, const RestartIndex& index,
                     const McuRect& rect, CutJpeg* out);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CODEC_JPEG_RESTART_H_
