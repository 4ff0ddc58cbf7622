// The entropy-decoding floor of the ImageNet training preprocessing: for the
// crop the server would take from an image (PlanCrop, same seed), only the
// Huffman decoding that no libjpeg-based decoder can skip, i.e. every MCU row
// from the top of the image down to the crop's bottom edge (rows above the
// crop must still be entropy-decoded to find where the next ones start;
// rows below are never touched). Skipped with jpeg_skip_scanlines at DCT
// scale 1/8: no IDCT, no upsampling, no colour conversion, no resize.
//
// The server's fast path can approach this floor but never pass it, so it
// bounds what any further work on decoding could give with the system's
// libjpeg-turbo. Used by decode_bench and e2e_bench. Not thread-safe (one
// EntropyFloor per thread).
#ifndef INPUTSERVE_TESTS_BENCH_DECODE_ENTROPY_FLOOR_H_
#define INPUTSERVE_TESTS_BENCH_DECODE_ENTROPY_FLOOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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

 private:
  struct State;
  std::unique_ptr<State> state_;
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
