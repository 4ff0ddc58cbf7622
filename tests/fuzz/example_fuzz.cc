// libFuzzer target: the tf.train.Example wire parser. A parsed image must
// point inside the record, and re-encoding what was parsed must parse back
// to the same values.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/sources/example_proto.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inputserve;
  // A private copy, exactly `size` bytes long, so ASan sees any overread.
  const std::string record(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ImageExample> parsed = ParseImageExample(record);
  // Other keys reach the paths that skip unwanted features.
  (void)ParseImageExample(record, "image/format", "image/height");
  if (!parsed.ok()) return 0;
  fuzz::Check(parsed->image.data() >= record.data() &&
                  parsed->image.data() + parsed->image.size() <=
                      record.data() + record.size(),
              "image view outside the record");
  fuzz::Check(!parsed->image.empty(), "empty image accepted");
  ExampleFeatures features;
  features.bytes.emplace_back(std::string(kImageKey),
                              std::string(parsed->image));
  features.int64s.emplace_back(std::string(kLabelKey), parsed->label);
  const std::string again = EncodeExample(features);
  absl::StatusOr<ImageExample> round = ParseImageExample(again);
  fuzz::Check(round.ok(), "re-encoded Example does not parse");
  fuzz::Check(round->image == parsed->image && round->label == parsed->label,
              "re-encoded Example parses to other values");
  return 0;
}
