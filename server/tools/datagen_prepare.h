// inputserve-datagen prepare: rewrites an imagenet TFRecord dataset offline
// so every JPEG carries restart markers (RewriteWithRestarts, optimised
// Huffman tables), letting servers cut crops from the first epoch on with no
// rewrite cost. Other features of each tf.train.Example are kept byte for
// byte. Stateless functions; thread-safe.
#ifndef INPUTSERVE_SERVER_TOOLS_DATAGEN_PREPARE_H_
#define INPUTSERVE_SERVER_TOOLS_DATAGEN_PREPARE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inputserve {

struct PrepareStats {
  uint64_t files = 0;
  uint64_t records = 0;    // Written out.
  uint64_t rewritten = 0;  // Records whose JPEG was rewritten.
  uint64_t unchanged = 0;  // Not a JPEG, already prepared, or not rewritable.
  uint64_t corrupt = 0;    // Dropped: bad framing or CRC in the input.
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double rewrite_cpu_seconds = 0;  // Thread CPU time spent rewriting.
};

// Reads every TFRecord file `in_glob` matches and writes one of the same
// name into `out_dir` (created if missing), each record's "image/encoded"
// JPEG rewritten; records that are not an Example with a JPEG, or whose JPEG
// does not rewrite, are copied unchanged. INVALID_ARGUMENT if an output
// would overwrite its input; errors name the file.
absl::StatusOr<PrepareStats> PrepareTfrecordDataset(const std::string& in_glob,
                                                    const std::string& out_dir);

// The serialized message `msg` with the bytes `target` (a view into `msg`:
// a bytes field's whole value, possibly in nested messages) replaced by
// `replacement`, every enclosing length prefix re-encoded. DATA_LOSS when
// `msg` is not valid protobuf wire format on the way to `target`.
absl::StatusOr<std::string> ReplaceNestedBytes(absl::string_view msg,
                                               absl::string_view target,
                                               absl::string_view replacement);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TOOLS_DATAGEN_PREPARE_H_
