#include "tests/bench/decode/entropy_floor.h"

#include <time.h>

#include <algorithm>
// jpeglib.h needs FILE and size_t declared first.
#include <cstdio>
#include <jpeglib.h>

#include "server/codec/image_preprocessor.h"

namespace inputserve::bench {

struct EntropyFloor::State {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
};

EntropyFloor::EntropyFloor() : state_(std::make_unique<State>()) {
  state_->cinfo.err = jpeg_std_error(&state_->err);
  jpeg_create_decompress(&state_->cinfo);
}

EntropyFloor::~EntropyFloor() { jpeg_destroy_decompress(&state_->cinfo); }

void EntropyFloor::Run(const std::string& jpeg, uint64_t seed) {
  j_decompress_ptr cinfo = &state_->cinfo;
  jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(jpeg.data()),
               jpeg.size());
  jpeg_read_header(cinfo, TRUE);
  const CropPlan plan = PlanCrop(static_cast<int>(cinfo->image_width),
                                 static_cast<int>(cinfo->image_height),
                                 /*augment=*/true, seed);
  cinfo->scale_num = 1;
  cinfo->scale_denom = 8;
  cinfo->out_color_space = JCS_RGB;
  jpeg_start_decompress(cinfo);
  const JDIMENSION bottom = static_cast<JDIMENSION>(
      (plan.window.y + plan.window.height + 7) / 8);
  jpeg_skip_scanlines(cinfo, std::min(bottom, cinfo->output_height));
  jpeg_abort_decompress(cinfo);
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
