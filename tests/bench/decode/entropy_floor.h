// The entropy-decoding floor of the ImageNet training preprocessing: for the
// crop the server would take from an image (PlanCrop, same seed), only the
// Huffman decoding that a libjpeg-based decoder cannot skip. Without restart
// markers (Run) that is every MCU row from the top of the image down to the
// crop's bottom edge: rows above the crop must still be entropy-decoded to
// find where the next ones start; rows below are never touched. With restart
// markers (RunRestart) it is only the intervals covering the crop, cut out
// in the compressed domain (CutCrop). Skipped with jpeg_skip_scanlines at
// DCT scale 1/8, stopping one row short of the bottom and reading that row
// (libjpeg-turbo returns at once from a skip that reaches the last row, so a
// skip to the bottom would count nothing): no IDCT, upsampling, colour
// conversion or resize except on that one row.
//
// A decode path can approach its floor but never pass it. Used by
// decode_bench and e2e_bench. Not thread-safe (one EntropyFloor per thread).
#ifndef INPUTSERVE_TESTS_BENCH_DECODE_ENTROPY_FLOOR_H_
#define INPUTSERVE_TESTS_BENCH_DECODE_ENTROPY_FLOOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "server/codec/jpeg_restart.h"

namespace inputserve::bench {

class EntropyFloor {
 public:
  EntropyFloor();
  ~EntropyFloor();
  EntropyFloor(const EntropyFloor&) = delete;
  EntropyFloor& operator=(const EntropyFloor&) = delete;

  // Entropy-decodes what the crop of (`jpeg`, `seed`) needs. The images are
  // the benchmark's own, known to decode: a corrupt one makes libjpeg print
  // its error and exit.
  void Run(const std::string& jpeg, uint64_t seed);
  // The same for the restart path: `jpeg` has restart markers and `index`
  // is its ParseRestartIndex; entropy-decodes only the cut of the crop.
  void RunRestart(const std::string& jpeg, const RestartIndex& index,
                  uint64_t seed);

 private:
  struct State;
  // Entropy-decodes full-size pixel rows [0, bottom_of(width, height)) of
  // `jpeg`.
  void DecodeRowsTo(absl::string_view jpeg,
                    absl::FunctionRef<int(int, int)> bottom_of);

  std::unique_ptr<State> state_;
  CutJpeg cut_;
};

// CPU milliseconds per image of EntropyFloor::Run on this thread, cycling
// through `jpegs` with seeds 0, 1, 2, ... for at least `seconds` of CPU
// time. 0 when `jpegs` is empty.
double EntropyFloorMsPerImage(const std::vector<std::string>& jpegs,
                              double seconds);

// CPU seconds this thread has used.
double ThreadCpuSeconds();

}  // namespace inputserve::bench

#endif  // INPUTSERVE_TESTS_BENCH_DECODE_ENTROPY_FLOOR_H_
