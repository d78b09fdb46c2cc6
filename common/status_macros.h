// Small helpers for absl::Status plumbing. Debian's Abseil (20220623) has no
// public RETURN_IF_ERROR, so surge keeps its own two macros here.
//
//   SURGE_RETURN_IF_ERROR(store->Flush());
//   SURGE_ASSIGN_OR_RETURN(auto events, store->ReadAll(1, 100));
#ifndef SURGE_COMMON_STATUS_MACROS_H_
#define SURGE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SURGE_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::absl::Status surge_status_ = (expr);          \
    if (!surge_status_.ok()) return surge_status_;  \
  } while (0)

#define SURGE_STATUS_CONCAT_INNER_(a, b) a##b
#define SURGE_STATUS_CONCAT_(a, b) SURGE_STATUS_CONCAT_INNER_(a, b)

#define SURGE_ASSIGN_OR_RETURN(lhs, expr)                                     \
  SURGE_ASSIGN_OR_RETURN_IMPL_(SURGE_STATUS_CONCAT_(surge_statusor_, __LINE__), \
                               lhs, expr)

#define SURGE_ASSIGN_OR_RETURN_IMPL_(var, lhs, expr) \
  auto var = (expr);                                 \
  if (!var.ok()) return std::move(var).status();     \
  lhs = std::move(var).value()

#endif  // SURGE_COMMON_STATUS_MACROS_H_
