#include "tests/fuzz/fuzz_util.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/status/statusor.h"

namespace inputserve::fuzz {
namespace {

class CountingSink final : public SkipSink {
 public:
  void OnSkip(absl::string_view, absl::string_view, uint64_t,
              absl::string_view) override {}
};

void RemoveScratch() {
  std::error_code ignored;
  std::filesystem::remove_all(ScratchDir(), ignored);
}

}  // namespace

const std::string& ScratchDir() {
  static const std::string* dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") +
                        "/inputserve-fuzz-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    auto* d = new std::string(templ);
    std::atexit(&RemoveScratch);
    return d;
  }();
  return *dir;
}

void WriteFileOrAbort(const std::string& path, absl::string_view data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr ||
      (!data.empty() && std::fwrite(data.data(), data.size(), 1, f) != 1) ||
      std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

void ReadAndDecodeEpoch(const Dataset& dataset, size_t max_records) {
  CountingSink sink;
  std::unique_ptr<ExampleReader> reader = dataset.NewReader(&sink);
  std::unique_ptr<ExampleDecoder> decoder = dataset.NewDecoder();
  if (!reader->StartEpoch(0).ok()) return;
  // Exactly the bytes the pipeline hands a decoder: ASan flags any write
  // past them.
  std::vector<uint8_t> image(dataset.shape().image_bytes());
  for (size_t i = 0; i < max_records; ++i) {
    absl::StatusOr<RawExample> raw = reader->Next();
    if (!raw.ok()) break;
    int32_t label = -1;
    if (decoder->Decode(*raw, /*rng_seed=*/i, image.data(), &label).ok()) {
      Check(dataset.shape().num_classes <= 0 ||
                (label >= 0 && label < dataset.shape().num_classes),
            "decoded label outside [0, num_classes)");
    }
  }
}

}  // namespace inputserve::fuzz
