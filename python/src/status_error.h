// StatusError: how the binding carries a non-OK absl::Status to Python. The
// module's exception translator turns it into the inputserve.Error subclass
// for its code (defined in inputserve/_errors.py).
#ifndef INPUTSERVE_PYTHON_SRC_STATUS_ERROR_H_
#define INPUTSERVE_PYTHON_SRC_STATUS_ERROR_H_

#include <exception>
#include <string>

#include "absl/status/status.h"

namespace inputserve::python {

class StatusError : public std::exception {
 public:
  explicit StatusError(absl::Status status)
      : status_(std::move(status)), what_(status_.ToString()) {}
  const absl::Status& status() const { return status_; }
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  absl::Status status_;
  std::string what_;
};

// Throws StatusError unless `status` is OK.
inline void ThrowIfError(const absl::Status& status) {
  if (!status.ok()) throw StatusError(status);
}

// Registers the translator from StatusError to inputserve.Error.
void RegisterStatusErrors();

}  // namespace inputserve::python

#endif  // INPUTSERVE_PYTHON_SRC_STATUS_ERROR_H_
