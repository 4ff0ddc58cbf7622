#include "client/transport/dataset_probe.h"

#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "client/batch_layout.h"
#include "client/transport/channel.h"
#include "client/transport/unary_retry.h"
#include "grpcpp/client_context.h"
#include "inputserve/v1/input_service.grpc.pb.h"

namespace inputserve::client_internal {
namespace {

std::string Describe(const v1::DatasetInfo& info) {
  std::string out = absl::StrCat("batch_size=", info.batch_size(), " tensors=");
  for (const v1::TensorSpec& t : info.tensors()) {
    absl::StrAppend(&out, t.name(), ":", t.dtype(), ":",
                    ShapeString({t.shape().begin(), t.shape().end()}), " ");
  }
  return out;
}

bool SameShape(const v1::DatasetInfo& a, const v1::DatasetInfo& b) {
  if (a.batch_size() != b.batch_size()) return false;
  if (a.tensors_size() != b.tensors_size()) return false;
  for (int i = 0; i < a.tensors_size(); ++i) {
    const v1::TensorSpec& x = a.tensors(i);
    const v1::TensorSpec& y = b.tensors(i);
    if (x.name() != y.name() || x.dtype() != y.dtype() ||
        x.shape_size() != y.shape_size()) {
      return false;
    }
    for (int j = 0; j < x.shape_size(); ++j) {
      if (x.shape(j) != y.shape(j)) return false;
    }
  }
  return true;
}

// What every target answered (info) or why not (status).
struct Answers {
  std::vector<v1::DatasetInfo> infos;
  std::vector<absl::Status> statuses;
};

// GetDatasetInfo to every target in parallel. As CallWithReconnect
// (unary_retry.h): a first fail-fast round, then one round with
// wait_for_ready for the targets that were UNAVAILABLE.
Answers AskAll(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
               absl::Duration timeout) {
  const size_t n = channels.size();
  Answers answers{std::vector<v1::DatasetInfo>(n),
                  std::vector<absl::Status>(n)};
  std::vector<std::unique_ptr<v1::InputService::Stub>> stubs(n);
  for (size_t i = 0; i < n; ++i) {
    stubs[i] = v1::InputService::NewStub(channels[i]);
  }
  // One round of calls, in parallel, to the targets `which`. The callback
  // API starts gRPC's background pollers; a client without them (a completion
  // queue here) took ~30 s to reconnect once every replica had restarted.
  const auto round = [&](const std::vector<size_t>& which,
                         const AttemptPolicy& policy) {
    std::vector<grpc::ClientContext> contexts(which.size());
    std::vector<grpc::Status> replies(which.size());
    absl::BlockingCounter pending(static_cast<int>(which.size()));
    for (size_t k = 0; k < which.size(); ++k) {
      policy.Apply(&contexts[k]);
      stubs[which[k]]->async()->GetDatasetInfo(
          &contexts[k],
          &static_cast<const v1::GetDatasetInfoRequest&>(
              v1::GetDatasetInfoRequest::default_instance()),
          &answers.infos[which[k]], [&replies, &pending, k](grpc::Status s) {
            replies[k] = std::move(s);
            pending.DecrementCount();
          });
    }
    pending.Wait();
    for (size_t k = 0; k < which.size(); ++k) {
      answers.statuses[which[k]] = FromGrpcStatus(replies[k]);
    }
  };
  const auto deadline =
      std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout);
  std::vector<size_t> all(n);
  for (size_t i = 0; i < n; ++i) all[i] = i;
  round(all, FirstAttempt(deadline));
  std::vector<size_t> again;
  for (size_t i = 0; i < n; ++i) {
    if (ShouldReconnect(answers.statuses[i])) again.push_back(i);
  }
  if (again.empty()) return answers;
  std::vector<absl::Status> first(n);
  for (size_t i : again) first[i] = answers.statuses[i];
  round(again, ReconnectAttempt(deadline));
  for (size_t i : again) {
    if (!answers.statuses[i].ok()) {
      answers.statuses[i] = BothAttemptsFailed(first[i], answers.statuses[i]);
    }
  }
  return answers;
}

}  // namespace

absl::StatusOr<ProbeResult> ProbeTargets(
    const std::vector<std::string>& targets,
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    absl::Duration timeout) {
  const size_t n = targets.size();
  Answers answers = AskAll(channels, timeout);
  ProbeResult result;
  result.modes.resize(n);
  result.answered_by.assign(n, false);
  std::string unreachable;
  int first = -1;
  for (size_t i = 0; i < n; ++i) {
    const absl::Status& s = answers.statuses[i];
    if (!s.ok()) {
      const absl::StatusCode code = s.code();
      const std::string message =
          absl::StrCat("connecting to ", targets[i], ": ",
                       absl::StatusCodeToString(code), ": ", s.message());
      if (code != absl::StatusCode::kUnavailable &&
          code != absl::StatusCode::kDeadlineExceeded) {
        return absl::Status(code, message);
      }
      absl::StrAppend(&unreachable, unreachable.empty() ? "" : "; ", message);
      continue;
    }
    const v1::DatasetInfo& info = answers.infos[i];
    result.modes[i] = info.mode();
    result.answered_by[i] = true;
    ++result.answered;
    if (first < 0) {
      first = static_cast<int>(i);
      result.info = info;
    } else if (!SameShape(answers.infos[first], info)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "targets disagree on the batches they serve: ", targets[first],
          " has ", Describe(answers.infos[first]), "but ", targets[i],
          " has ", Describe(info)));
    }
  }
  if (first < 0) {
    return absl::UnavailableError(
        absl::StrCat("no target answered GetDatasetInfo within ",
                     absl::FormatDuration(timeout), ": ", unreachable));
  }
  result.infos = std::move(answers.infos);
  return result;
}

}  // namespace inputserve::client_internal
