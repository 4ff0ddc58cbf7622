#include "tests/bench/decode/entropy_floor.h"

#include <time.h>

#include <algorithm>
#include <cstdlib>
// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include <cstdio>

#include "server/codec/image_preprocessor.h"

namespace inputserve::bench {

struct EntropyFloor::State {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  std::vector<unsigned char> row;
};

EntropyFloor::EntropyFloor() : state_(std::make_unique<State>()) {
  state_->cinfo.err = jpeg_std_error(&state_->err);
  jpeg_create_decompress(&state_->cinfo);
}

EntropyFloor::~EntropyFloor() { jpeg_destroy_decompress(&state_->cinfo); }

void EntropyFloor::DecodeRowsTo(absl::string_view jpeg,
                                absl::FunctionRef<int(int, int)> bottom_of) {
  j_decompress_ptr cinfo = &state_->cinfo;
  jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(jpeg.data()),
               jpeg.size());
  jpeg_read_header(cinfo, TRUE);
  const int bottom = bottom_of(static_cast<int>(cinfo->image_width),
                               static_cast<int>(cinfo->image_height));
  cinfo->scale_num = 1;
  cinfo->scale_denom = 8;
  cinfo->out_color_space = JCS_RGB;
  jpeg_start_decompress(cinfo);
  const JDIMENSION last =
      std::min(static_cast<JDIMENSION>((bottom + 7) / 8), cinfo->output_height);
  // A skip reaching the last row would return without decoding: stop one
  // row short and read that row, which entropy-decodes its iMCU row.
  if (last > 1) jpeg_skip_scanlines(cinfo, last - 1);
  state_->row.resize(static_cast<size_t>(cinfo->output_width) * 3);
  JSAMPROW row = state_->row.data();
  jpeg_read_scanlines(cinfo, &row, 1);
  jpeg_abort_decompress(cinfo);
}

void EntropyFloor::Run(const std::string& jpeg, uint64_t seed) {
  DecodeRowsTo(jpeg, [seed](int width, int height) {
    const CropWindow w = PlanCrop(width, height, /*augment=*/true, seed).window;
    return w.y + w.height;
  });
}

void EntropyFloor::RunRestart(const std::string& jpeg,
                              const RestartIndex& index, uint64_t seed) {
  const CropPlan plan =
      PlanCrop(index.width, index.height, /*augment=*/true, seed);
  const CropWindow& w = plan.window;
  if (!CutCrop(jpeg, index, McuRectFor(index, w.x, w.y, w.width, w.height),
               &cut_)
           .ok()) {
    std::abort();  // The benchmark's own images: a bug, not data.
  }
  DecodeRowsTo(cut_.bytes, [](int, int height) { return height; });
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double EntropyFloorMsPerImage(const std::vector<std::string>& jpegs,
                              double seconds) {
  if (jpegs.empty()) return 0;
  EntropyFloor floor;
  const double start = ThreadCpuSeconds();
  uint64_t n = 0;
  double used = 0;
  // Whole passes over the set, so every image counts equally.
  while (used < seconds || n < jpegs.size()) {
    for (const std::string& jpeg : jpegs) floor.Run(jpeg, n++);
    used = ThreadCpuSeconds() - start;
  }
  return used * 1e3 / static_cast<double>(n);
}

}  // namespace inputserve::bench
