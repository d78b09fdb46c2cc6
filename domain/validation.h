// The input rules of surge's public contract (ARCHITECTURE.md §4), in one place.
//
// Every command and query is checked here before anything is read or
// written, by the command/query cores themselves (so a caller that skips the
// gRPC layer cannot bypass them) and by the gRPC services (so bad input is
// answered before any work). Every error is INVALID_ARGUMENT and its message
// starts with the offending field, e.g.
//   "lines[2].quantity: must be between 1 and 1000000, got 0".
//
// Rules:
//   request_id      1..128 bytes, any byte except ASCII control characters
//                   (0x00-0x1F, 0x7F): clients may use UUIDs, ULIDs or
//                   UTF-8 text, but nothing that breaks logs or key prefixes.
//   ids and codes   1..128 bytes of [A-Za-z0-9._:-].
//   quantities      1..1,000,000.
//   order lines     1..100.
//   stock delta     != 0 and |delta| <= 1,000,000.
//   per_user_limit  0..1,000,000 (0 means 1).
//   wait_for_settlement_ms 0..30,000.
//   max_count       0..1,000 (0 means the default page of 100).
//
// Thread-safe: pure functions.
#ifndef SURGE_DOMAIN_VALIDATION_H_
#define SURGE_DOMAIN_VALIDATION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "domain/command_types.h"

namespace surge::domain {

inline constexpr size_t kMaxIdBytes = 128;
inline constexpr int64_t kMaxQuantity = 1'000'000;
inline constexpr int kMaxOrderLines = 100;
inline constexpr int64_t kMaxPerUserLimit = 1'000'000;
inline constexpr int64_t kMaxWaitForSettlementMs = 30'000;
inline constexpr uint32_t kMaxPageSize = 1'000;
inline constexpr uint32_t kDefaultPageSize = 100;

// Field-level rules. `field` names the field in the error message.
absl::Status ValidateRequestId(absl::string_view field, absl::string_view value);
absl::Status ValidateId(absl::string_view field, absl::string_view value);
absl::Status ValidateQuantity(absl::string_view field, int64_t value);
absl::Status ValidateStockDelta(absl::string_view field, int64_t value);
absl::Status ValidatePerUserLimit(absl::string_view field, int64_t value);
absl::Status ValidateWaitForSettlementMs(absl::string_view field, int64_t value);
absl::Status ValidateLineCount(absl::string_view field, int count);
absl::Status ValidatePageSize(absl::string_view field, uint32_t value);

// Whole-command rules: every field of the command, first failure wins.
absl::Status Validate(const PlaceOrderCommand& command);
absl::Status Validate(const CancelOrderCommand& command);
absl::Status Validate(const AdjustStockCommand& command);
absl::Status Validate(const CreateCampaignCommand& command);
absl::Status Validate(const RequestCouponCommand& command);

}  // namespace surge::domain

#endif  // SURGE_DOMAIN_VALIDATION_H_
