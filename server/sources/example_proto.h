// tf.train.Example on the wire, without the protobuf runtime: a bounds-checked
// zero-copy parser for the two features an image classifier needs, and an
// encoder for writers (inputserve-datagen). Field numbers follow
// tensorflow/core/example/{example,feature}.proto, so files written by
// TensorFlow parse. Stateless functions; thread-safe.
#ifndef INPUTSERVE_SERVER_SOURCES_EXAMPLE_PROTO_H_
#define INPUTSERVE_SERVER_SOURCES_EXAMPLE_PROTO_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inputserve {

inline constexpr absl::string_view kImageKey = "image/encoded";
inline constexpr absl::string_view kLabelKey = "image/class/label";

struct ImageExample {
  absl::string_view image;  // Points into the parsed record.
  int64_t label = 0;
};

// Extracts the first bytes value of `image_key` and the first int64 of
// `label_key`. NOT_FOUND naming the feature when either is absent, empty or
// of another type; DATA_LOSS when the bytes are not a valid Example. Never
// reads outside `record`.
absl::StatusOr<ImageExample> ParseImageExample(
    absl::string_view record, absl::string_view image_key = kImageKey,
    absl::string_view label_key = kLabelKey);

// Builds a serialized Example. Values are bytes_list (one value each) or
// int64_list (packed, one value each).
struct ExampleFeatures {
  std::vector<std::pair<std::string, std::string>> bytes;
  std::vector<std::pair<std::string, int64_t>> int64s;
};
std::string EncodeExample(const ExampleFeatures& features);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_EXAMPLE_PROTO_H_
