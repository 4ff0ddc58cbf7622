// Checks a ClientOptions before any connection is made, and the rule that the
// global batch splits evenly over the devices. Pure functions; thread-safe.
#ifndef INPUTSERVE_CLIENT_OPTIONS_VALIDATION_H_
#define INPUTSERVE_CLIENT_OPTIONS_VALIDATION_H_

#include "absl/status/status.h"
#include "inputserve/options.h"

namespace inputserve::client_internal {

// INVALID_ARGUMENT naming the first unusable field and its allowed range.
absl::Status ValidateOptions(const ClientOptions& options);
// The data-order fields alone (part of ValidateOptions): arrival order with
// a non-default rank/world_size/start_step/num_epochs/drop_remainder, or a
// deterministic rank outside [0, world_size).
absl::Status ValidateOrderOptions(const ClientOptions& options);

// INVALID_ARGUMENT unless num_devices (0 = unsplit) divides batch_size; the
// message names both and the nearest valid batch sizes below and above.
absl::Status CheckBatchDivisible(int batch_size, int num_devices);

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_OPTIONS_VALIDATION_H_
