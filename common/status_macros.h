// Two macros for absl::Status plumbing (Abseil 20220623 ships none):
// return a failed status to the caller, or unwrap a StatusOr. Stateless,
// usable from any thread.
#ifndef INPUTSERVE_COMMON_STATUS_MACROS_H_
#define INPUTSERVE_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) once; returns it from the enclosing
// function unless it is OK.
#define INPUTSERVE_RETURN_IF_ERROR(expr)                     \
  do {                                                       \
    ::absl::Status inputserve_status_macro_status_ = (expr); \
    if (!inputserve_status_macro_status_.ok()) {             \
      return inputserve_status_macro_status_;                \
    }                                                        \
  } while (false)

// Evaluates `expr` (an absl::StatusOr<T>) once; returns its status from the
// enclosing function unless it is OK, else move-assigns the value to `lhs`,
// which may declare a variable: INPUTSERVE_ASSIGN_OR_RETURN(auto x, F());
// Expands to several statements: do not use it as the body of an unbraced if.
#define INPUTSERVE_ASSIGN_OR_RETURN(lhs, expr)                             \
  INPUTSERVE_ASSIGN_OR_RETURN_IMPL_(                                       \
      INPUTSERVE_STATUS_MACROS_CONCAT_(inputserve_statusor_, __COUNTER__), \
      lhs, expr)

#define INPUTSERVE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                      \
  if (!statusor.ok()) return std::move(statusor).status();     \
  lhs = *std::move(statusor)

#define INPUTSERVE_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define INPUTSERVE_STATUS_MACROS_CONCAT_(a, b) \
  INPUTSERVE_STATUS_MACROS_CONCAT_INNER_(a, b)

#endif  // INPUTSERVE_COMMON_STATUS_MACROS_H_
