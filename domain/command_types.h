// The commands surge accepts and what they answer, as plain domain values
// (no gRPC). The server converts its protos into these; tests and tools can
// build them directly.
#ifndef SURGE_DOMAIN_COMMAND_TYPES_H_
#define SURGE_DOMAIN_COMMAND_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "surge/v1/events.pb.h"

namespace surge::domain {

struct PlaceOrderCommand {
  std::string request_id;
  std::string user_id;
  std::vector<v1::OrderLine> lines;  // sku + quantity, 1..100 of them
};

struct PlaceOrderResult {
  std::string order_id;    // generated; the same one again for a repeat
  uint64_t position = 0;   // log position of OrderPlaced
  bool duplicate = false;  // true when request_id was seen before
};

struct CancelOrderCommand {
  std::string request_id;
  std::string order_id;
};

struct CancelOrderResult {
  std::string order_id;
  // Position of the OrderCancellationRequested event; 0 when nothing was
  // appended because the order was already cancelled.
  uint64_t position = 0;
  bool duplicate = false;          // answered from the idempotency key
  bool already_cancelled = false;  // the log already held OrderCancelled
};

struct AdjustStockCommand {
  std::string request_id;
  std::string sku;
  int64_t delta = 0;  // restock > 0, write-off < 0
};

struct CreateCampaignCommand {
  std::string request_id;
  std::string code;
  int64_t total_quantity = 0;
  int64_t per_user_limit = 0;  // 0 means 1
};

struct RequestCouponCommand {
  std::string request_id;
  std::string user_id;
  std::string code;
};

// Answer of the single-event commands (AdjustStock, CreateCampaign,
// RequestCoupon).
struct WriteResult {
  uint64_t position = 0;  // log position of the event
  bool duplicate = false;
};

}  // namespace surge::domain

#endif  // SURGE_DOMAIN_COMMAND_TYPES_H_
