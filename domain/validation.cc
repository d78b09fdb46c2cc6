#include "domain/validation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace surge::domain {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status CheckRange(absl::string_view field, int64_t value, int64_t lo, int64_t hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return Invalid(field, absl::StrCat("must be between ", lo, " and ", hi, ", got ", value));
}

absl::Status CheckLength(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Invalid(field, "must not be empty");
  if (value.size() > kMaxIdBytes) {
    return Invalid(field,
                   absl::StrCat("must be at most ", kMaxIdBytes, " bytes, got ", value.size()));
  }
  return absl::OkStatus();
}

bool IsIdByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

bool IsControlByte(unsigned char c) { return c < 0x20 || c == 0x7f; }

}  // namespace

absl::Status ValidateRequestId(absl::string_view field, absl::string_view value) {
  if (absl::Status s = CheckLength(field, value); !s.ok()) return s;
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (IsControlByte(c)) {
      return Invalid(field, absl::StrFormat("must not contain control characters, got byte "
                                            "0x%02x at offset %d",
                                            c, i));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateId(absl::string_view field, absl::string_view value) {
  if (absl::Status s = CheckLength(field, value); !s.ok()) return s;
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (!IsIdByte(c)) {
      return Invalid(field, absl::StrFormat("must contain only [A-Za-z0-9._:-], got byte "
                                            "0x%02x at offset %d",
                                            c, i));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateQuantity(absl::string_view field, int64_t value) {
  return CheckRange(field, value, 1, kMaxQuantity);
}

absl::Status ValidateStockDelta(absl::string_view field, int64_t value) {
  if (value == 0) return Invalid(field, "must not be 0");
  return CheckRange(field, value, -kMaxQuantity, kMaxQuantity);
}

absl::Status ValidatePerUserLimit(absl::string_view field, int64_t value) {
  return CheckRange(field, value, 0, kMaxPerUserLimit);
}

absl::Status ValidateWaitForSettlementMs(absl::string_view field, int64_t value) {
  return CheckRange(field, value, 0, kMaxWaitForSettlementMs);
}

absl::Status ValidateLineCount(absl::string_view field, int count) {
  if (count >= 1 && count <= kMaxOrderLines) return absl::OkStatus();
  return Invalid(field,
                 absl::StrCat("must have between 1 and ", kMaxOrderLines, " entries, got ", count));
}

absl::Status ValidatePageSize(absl::string_view field, uint32_t value) {
  return CheckRange(field, value, 0, kMaxPageSize);
}

absl::Status Validate(const PlaceOrderCommand& command) {
  SURGE_RETURN_IF_ERROR(ValidateRequestId("request_id", command.request_id));
  SURGE_RETURN_IF_ERROR(ValidateId("user_id", command.user_id));
  SURGE_RETURN_IF_ERROR(ValidateLineCount("lines", static_cast<int>(command.lines.size())));
  for (size_t i = 0; i < command.lines.size(); ++i) {
    const std::string prefix = absl::StrCat("lines[", i, "].");
    SURGE_RETURN_IF_ERROR(ValidateId(absl::StrCat(prefix, "sku"), command.lines[i].sku()));
    SURGE_RETURN_IF_ERROR(
        ValidateQuantity(absl::StrCat(prefix, "quantity"), command.lines[i].quantity()));
  }
  return absl::OkStatus();
}

absl::Status Validate(const CancelOrderCommand& command) {
  SURGE_RETURN_IF_ERROR(ValidateRequestId("request_id", command.request_id));
  return ValidateId("order_id", command.order_id);
}

absl::Status Validate(const AdjustStockCommand& command) {
  SURGE_RETURN_IF_ERROR(ValidateRequestId("request_id", command.request_id));
  SURGE_RETURN_IF_ERROR(ValidateId("sku", command.sku));
  return ValidateStockDelta("delta", command.delta);
}

absl::Status Validate(const CreateCampaignCommand& command) {
  SURGE_RETURN_IF_ERROR(ValidateRequestId("request_id", command.request_id));
  SURGE_RETURN_IF_ERROR(ValidateId("code", command.code));
  SURGE_RETURN_IF_ERROR(ValidateQuantity("total_quantity", command.total_quantity));
  return ValidatePerUserLimit("per_user_limit", command.per_user_limit);
}

absl::Status Validate(const RequestCouponCommand& command) {
  SURGE_RETURN_IF_ERROR(ValidateRequestId("request_id", command.request_id));
  SURGE_RETURN_IF_ERROR(ValidateId("user_id", command.user_id));
  return ValidateId("code", command.code);
}

}  // namespace surge::domain
