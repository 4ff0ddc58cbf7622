// The random-tensor source behind --dataset=synthetic:cifar10|imagenet:
// seeded random tensors with the shapes of CIFAR-10 or ImageNet, no files.
// (Not to be confused with synthetic *mode*, which replays one cached batch
// of whatever source the server reads.) The reader only numbers examples; the
// decoder fills each image from (seed, index), so any thread decodes any index
// the same. Readers are single-threaded; decoders are per thread; both are
// cheap.
#ifndef INPUTSERVE_SERVER_SOURCES_RANDOM_SOURCE_H_
#define INPUTSERVE_SERVER_SOURCES_RANDOM_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/sources/dataset.h"

namespace inputserve {

// `name` is "cifar10" or "imagenet"; INVALID_ARGUMENT otherwise.
absl::StatusOr<std::unique_ptr<Dataset>> OpenRandomDataset(
    absl::string_view name, const DatasetOptions& options);

// Deterministic pseudo-random bytes for example `index`: 8 bytes per step.
void FillRandomBytes(uint64_t seed, uint64_t index, uint8_t* out, size_t size);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_RANDOM_SOURCE_H_
