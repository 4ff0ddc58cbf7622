// Asks every target for its DatasetInfo (in parallel, with a deadline) and
// checks that they agree on batch size and tensors. Stateless; thread-safe.
#ifndef INPUTSERVE_CLIENT_TRANSPORT_DATASET_PROBE_H_
#define INPUTSERVE_CLIENT_TRANSPORT_DATASET_PROBE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "inputserve/v1/input_service.pb.h"

namespace inputserve::client_internal {

struct ProbeResult {
  v1::DatasetInfo info;  // The description every answering target agreed on.
  // Per target: the ModeStatus it reported, or generation 0 if it did not
  // answer.
  std::vector<v1::ModeStatus> modes;
  // Per target: what it answered (default when it did not answer).
  std::vector<v1::DatasetInfo> infos;
  std::vector<bool> answered_by;
  int answered = 0;
};

// UNAVAILABLE (listing each target's error) when no target answers;
// INVALID_ARGUMENT when answering targets disagree; the target's own error,
// with context, when one answers with something other than UNAVAILABLE or
// DEADLINE_EXCEEDED (e.g. UNIMPLEMENTED: not an inputserve server). Targets
// that are merely unreachable are tolerated: their streams keep retrying.
// A target whose first call fails with UNAVAILABLE is asked once more,
// waiting up to kReconnectWindow for a connection (see unary_retry.h).
absl::StatusOr<ProbeResult> ProbeTargets(
    const std::vector<std::string>& targets,
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    absl::Duration timeout);

}  // namespace inputserve::client_internal

#endif  // INPUTSERVE_CLIENT_TRANSPORT_DATASET_PROBE_H_
