// Helpers shared by the libFuzzer targets: a private scratch directory per
// fuzzer process (every file a target writes or opens lies inside it), and a
// walk over one epoch of a Dataset that decodes every record. Not
// thread-safe; libFuzzer runs one input at a time.
#ifndef INPUTSERVE_TESTS_FUZZ_FUZZ_UTIL_H_
#define INPUTSERVE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/sources/dataset.h"

namespace inputserve::fuzz {

// A directory created on first use under $TMPDIR (or /tmp), removed at exit.
const std::string& ScratchDir();

// Writes `data` to `path`, replacing it; aborts on failure (a broken harness
// must not look like a clean run).
void WriteFileOrAbort(const std::string& path, absl::string_view data);

// Aborts with `what` when `condition` is false: a property the code under
// test promised was broken, which libFuzzer reports as a crash.
void Check(bool condition, const char* what);

// Reads the first epoch of `dataset` (at most `max_records` records) and
// decodes each record, checking the decoder writes inside its buffers.
void ReadAndDecodeEpoch(const Dataset& dataset, size_t max_records);

}  // namespace inputserve::fuzz

#endif  // INPUTSERVE_TESTS_FUZZ_FUZZ_UTIL_H_
