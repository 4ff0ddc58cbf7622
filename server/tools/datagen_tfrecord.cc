// TFRecord writer: replaced by the JPEG tf.train.Example writer in the next
// step, together with the TFRecord reader that reads it back.
#include "server/tools/datagen.h"

namespace inputserve {

absl::StatusOr<std::vector<std::string>> WriteTfrecordFiles(
    const DatagenOptions&) {
  return absl::UnimplementedError("--format=tfrecord is not built in yet");
}

}  // namespace inputserve
