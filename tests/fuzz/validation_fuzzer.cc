// Fuzz target: request validation (domain/validation.h).
//
// Input: one selector byte (mod 12: 0-4 commands, 5-10 queries, 11 raw field), then the bytes of
// one surge.v1 request proto (or, for the last selector, a raw field value). The request is decoded
// the way the gRPC layer decodes it, turned into the domain command, and validated. Beyond "never
// crashes", every verdict is compared with an independent statement of the contract
// (ARCHITECTURE.md §4, validation.h), so a rule that accepts too much or too little is a finding
// too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "domain/validation.h"
#include "google/protobuf/stubs/logging.h"
#include "surge/v1/surge.pb.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

namespace surge::fuzz {
namespace {

// --- the contract, restated independently of domain/validation.cc ----------

bool IdOk(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (unsigned char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool RequestIdOk(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool QuantityOk(int64_t q) { return q >= 1 && q <= 1'000'000; }
bool WaitOk(int64_t ms) { return ms >= 0 && ms <= 30'000; }
bool PageOk(uint32_t n) { return n <= 1'000; }

// A verdict must match the contract; a refusal must be INVALID_ARGUMENT and
// name a field.
void Expect(const absl::Status& status, bool contract_ok, const char* what) {
  SURGE_FUZZ_CHECK(status.ok() == contract_ok, "%s: validation says %s, the contract says %s", what,
                   status.ToString().c_str(), contract_ok ? "valid" : "invalid");
  if (!status.ok()) {
    SURGE_FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, "%s: %s", what,
                     status.ToString().c_str());
    SURGE_FUZZ_CHECK(status.message().find(": ") != absl::string_view::npos,
                     "%s: message names no field: %s", what, status.ToString().c_str());
  }
}

template <typename Proto>
bool Decode(const std::string& bytes, Proto* proto) {
  return proto->ParseFromString(bytes);
}

void PlaceOrder(const std::string& bytes) {
  v1::PlaceOrderRequest r;
  if (!Decode(bytes, &r)) return;
  domain::PlaceOrderCommand command{
      r.request_id(), r.user_id(), {r.lines().begin(), r.lines().end()}};
  bool ok = RequestIdOk(r.request_id()) && IdOk(r.user_id()) && r.lines_size() >= 1 &&
            r.lines_size() <= 100;
  for (const v1::OrderLine& line : r.lines()) {
    ok = ok && IdOk(line.sku()) && QuantityOk(line.quantity());
  }
  Expect(domain::Validate(command), ok, "PlaceOrder");
}

void CancelOrder(const std::string& bytes) {
  v1::CancelOrderRequest r;
  if (!Decode(bytes, &r)) return;
  Expect(domain::Validate(domain::CancelOrderCommand{r.request_id(), r.order_id()}),
         RequestIdOk(r.request_id()) && IdOk(r.order_id()), "CancelOrder");
  Expect(domain::ValidateWaitForSettlementMs("wait_for_settlement_ms", r.wait_for_settlement_ms()),
         WaitOk(r.wait_for_settlement_ms()), "CancelOrder.wait");
}

void AdjustStock(const std::string& bytes) {
  v1::AdjustStockRequest r;
  if (!Decode(bytes, &r)) return;
  const bool delta_ok = r.delta() != 0 && r.delta() >= -1'000'000 && r.delta() <= 1'000'000;
  Expect(domain::Validate(domain::AdjustStockCommand{r.request_id(), r.sku(), r.delta()}),
         RequestIdOk(r.request_id()) && IdOk(r.sku()) && delta_ok, "AdjustStock");
}

void CreateCampaign(const std::string& bytes) {
  v1::CreateCampaignRequest r;
  if (!Decode(bytes, &r)) return;
  const bool limit_ok = r.per_user_limit() >= 0 && r.per_user_limit() <= 1'000'000;
  Expect(
      domain::Validate(domain::CreateCampaignCommand{r.request_id(), r.code(), r.total_quantity(),
                                                     r.per_user_limit()}),
      RequestIdOk(r.request_id()) && IdOk(r.code()) && QuantityOk(r.total_quantity()) && limit_ok,
      "CreateCampaign");
}

void RequestCoupon(const std::string& bytes) {
  v1::RequestCouponRequest r;
  if (!Decode(bytes, &r)) return;
  Expect(domain::Validate(domain::RequestCouponCommand{r.request_id(), r.user_id(), r.code()}),
         RequestIdOk(r.request_id()) && IdOk(r.user_id()) && IdOk(r.code()), "RequestCoupon");
}

void Queries(uint8_t kind, const std::string& bytes) {
  switch (kind) {
    case 0: {
      v1::GetOrderRequest r;
      if (!Decode(bytes, &r)) return;
      Expect(domain::ValidateId("order_id", r.order_id()), IdOk(r.order_id()), "GetOrder");
      Expect(
          domain::ValidateWaitForSettlementMs("wait_for_settlement_ms", r.wait_for_settlement_ms()),
          WaitOk(r.wait_for_settlement_ms()), "GetOrder.wait");
      return;
    }
    case 1: {
      v1::GetCouponRequestRequest r;
      if (!Decode(bytes, &r)) return;
      Expect(domain::ValidateRequestId("request_id", r.request_id()), RequestIdOk(r.request_id()),
             "GetCouponRequest");
      Expect(
          domain::ValidateWaitForSettlementMs("wait_for_settlement_ms", r.wait_for_settlement_ms()),
          WaitOk(r.wait_for_settlement_ms()), "GetCouponRequest.wait");
      return;
    }
    case 2: {
      v1::GetStockRequest r;
      if (!Decode(bytes, &r)) return;
      Expect(domain::ValidateId("sku", r.sku()), IdOk(r.sku()), "GetStock");
      return;
    }
    case 3: {
      v1::GetCampaignRequest r;
      if (!Decode(bytes, &r)) return;
      Expect(domain::ValidateId("code", r.code()), IdOk(r.code()), "GetCampaign");
      return;
    }
    case 4: {
      v1::ReadAllRequest r;
      if (!Decode(bytes, &r)) return;
      Expect(domain::ValidatePageSize("max_count", r.max_count()), PageOk(r.max_count()),
             "ReadAll");
      return;
    }
    default: {
      v1::ReadStreamRequest r;
      if (!Decode(bytes, &r)) return;
      Expect(domain::ValidateId("stream_id", r.stream_id()), IdOk(r.stream_id()), "ReadStream");
      Expect(domain::ValidatePageSize("max_count", r.max_count()), PageOk(r.max_count()),
             "ReadStream.max_count");
      return;
    }
  }
}

// Raw bytes straight into the field rules: proto3 refuses to decode invalid
// UTF-8 into a string field, so this is the only way such bytes reach them.
void RawField(FuzzInput& in) {
  const int64_t number = in.Int<int64_t>();
  const std::string value = in.Rest();
  Expect(domain::ValidateId("id", value), IdOk(value), "ValidateId");
  Expect(domain::ValidateRequestId("request_id", value), RequestIdOk(value), "ValidateRequestId");
  Expect(domain::ValidateQuantity("quantity", number), QuantityOk(number), "ValidateQuantity");
  Expect(domain::ValidateStockDelta("delta", number),
         number != 0 && number >= -1'000'000 && number <= 1'000'000, "ValidateStockDelta");
  Expect(domain::ValidatePerUserLimit("per_user_limit", number), number >= 0 && number <= 1'000'000,
         "ValidatePerUserLimit");
  Expect(domain::ValidateWaitForSettlementMs("wait", number), WaitOk(number), "ValidateWait");
  const auto count = static_cast<int>(static_cast<int32_t>(number));
  Expect(domain::ValidateLineCount("lines", count), count >= 1 && count <= 100,
         "ValidateLineCount");
  const auto page = static_cast<uint32_t>(number);
  Expect(domain::ValidatePageSize("max_count", page), PageOk(page), "ValidatePageSize");
}

}  // namespace
}  // namespace surge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace surge::fuzz;  // NOLINT: entry point only
  FuzzInput in(data, size);
  static const bool quiet = [] {
    // proto3 logs every invalid-UTF-8 string it refuses; the fuzzer makes many.
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  const uint8_t selector = in.Byte() % 12;
  if (selector == 11) {
    RawField(in);
    return 0;
  }
  const std::string bytes = in.Rest();
  switch (selector) {
    case 0:
      PlaceOrder(bytes);
      break;
    case 1:
      CancelOrder(bytes);
      break;
    case 2:
      AdjustStock(bytes);
      break;
    case 3:
      CreateCampaign(bytes);
      break;
    case 4:
      RequestCoupon(bytes);
      break;
    default:
      Queries(static_cast<uint8_t>(selector - 5), bytes);
      break;
  }
  return 0;
}
