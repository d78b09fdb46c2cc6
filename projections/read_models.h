// The read models the projections maintain, and how they are keyed. Shared
// by the projections (writers) and the query side of the server (readers).
//
// Each read model is a RocksDB column family in the event store; rows are
// the public surge.v1 messages (Order, Stock, Campaign, CouponRequest) so a
// query answers with the stored row as is. Rows are written only through
// EventStore::Append extra writes, in the same batch as the events the
// projection emits and its applied-position checkpoint.
#ifndef SURGE_PROJECTIONS_READ_MODELS_H_
#define SURGE_PROJECTIONS_READ_MODELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace surge::projections {

inline constexpr char kStockCf[] = "rm_stock";           // sku -> v1::Stock
inline constexpr char kOrdersCf[] = "rm_orders";         // order_id -> v1::Order
inline constexpr char kOrderSagaCf[] = "rm_order_saga";  // order_id -> internal saga state
inline constexpr char kCampaignsCf[] = "rm_campaigns";   // code -> v1::Campaign
inline constexpr char kCouponRequestsCf[] =
    "rm_coupon_requests";  // request_id -> v1::CouponRequest
inline constexpr char kCouponHoldingsCf[] =
    "rm_coupon_holdings";                                    // code '\0' user -> 8-byte BE count
inline constexpr char kDeadLettersCf[] = "rm_dead_letters";  // dead letter id -> v1::DeadLetter

// Every read-model column family, for EventStore Options::extra_column_families.
inline std::vector<std::string> ReadModelColumnFamilies() {
  return {kStockCf,          kOrdersCf,         kOrderSagaCf,  kCampaignsCf,
          kCouponRequestsCf, kCouponHoldingsCf, kDeadLettersCf};
}

inline std::string CouponHoldingKey(absl::string_view code, absl::string_view user_id) {
  return absl::StrCat(code, absl::string_view("\0", 1), user_id);
}

// checkpoints CF key of a projection's highest applied log position for one
// source partition: "applied/<projection>/<topic>/<partition>" -> 8-byte BE.
inline std::string AppliedPositionKey(absl::string_view projection, absl::string_view topic,
                                      int32_t partition) {
  return absl::StrCat("applied/", projection, "/", topic, "/", partition);
}
inline constexpr char kAppliedPositionPrefix[] = "applied/";

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_READ_MODELS_H_
