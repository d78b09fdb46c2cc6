#include "kafka/topics.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace surge::kafka {

std::vector<std::string> EventTopics() { return {kOrdersTopic, kStockTopic, kCouponsTopic}; }

std::string DeadLetterTopic(absl::string_view topic) { return absl::StrCat(topic, ".dlt"); }

std::string ChangelogTopic(absl::string_view topic) { return absl::StrCat(topic, ".changelog"); }

std::string EventTypeName(const v1::Event& event) {
  if (event.payload_case() == v1::Event::PAYLOAD_NOT_SET) return "";
  const google::protobuf::FieldDescriptor* field =
      v1::Event::descriptor()->FindFieldByNumber(static_cast<int>(event.payload_case()));
  return field == nullptr ? "" : field->name();
}

absl::StatusOr<Route> RouteEvent(const v1::Event& event) {
  Route route;
  switch (event.payload_case()) {
    case v1::Event::kOrderPlaced:
      route = {kOrdersTopic, event.order_placed().order_id()};
      break;
    case v1::Event::kOrderCancellationRequested:
      route = {kOrdersTopic, event.order_cancellation_requested().order_id()};
      break;
    case v1::Event::kOrderConfirmed:
      route = {kOrdersTopic, event.order_confirmed().order_id()};
      break;
    case v1::Event::kOrderCancelled:
      route = {kOrdersTopic, event.order_cancelled().order_id()};
      break;
    case v1::Event::kStockDecreased:
      route = {kOrdersTopic, event.stock_decreased().order_id()};
      break;
    case v1::Event::kStockDecreaseFailed:
      route = {kOrdersTopic, event.stock_decrease_failed().order_id()};
      break;
    case v1::Event::kStockDecreaseRequested:
      route = {kStockTopic, event.stock_decrease_requested().sku()};
      break;
    case v1::Event::kStockReleaseRequested:
      route = {kStockTopic, event.stock_release_requested().sku()};
      break;
    case v1::Event::kStockReleased:
      route = {kStockTopic, event.stock_released().sku()};
      break;
    case v1::Event::kStockAdjusted:
      route = {kStockTopic, event.stock_adjusted().sku()};
      break;
    case v1::Event::kStockAdjustmentRejected:
      route = {kStockTopic, event.stock_adjustment_rejected().sku()};
      break;
    case v1::Event::kCampaignCreated:
      route = {kCouponsTopic, event.campaign_created().code()};
      break;
    case v1::Event::kCouponRequested:
      route = {kCouponsTopic, event.coupon_requested().code()};
      break;
    case v1::Event::kCouponIssued:
      route = {kCouponsTopic, event.coupon_issued().code()};
      break;
    case v1::Event::kCouponRejected:
      route = {kCouponsTopic, event.coupon_rejected().code()};
      break;
    case v1::Event::PAYLOAD_NOT_SET:
    default:
      return absl::InvalidArgumentError(absl::StrCat("event at position ", event.position(),
                                                     " has no payload this build can route (case ",
                                                     static_cast<int>(event.payload_case()), ")"));
  }
  if (route.key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("event at position ", event.position(), " (",
                                                   EventTypeName(event), ") has an empty key"));
  }
  return route;
}

int32_t Murmur2(absl::string_view data) {
  // Transcription of org.apache.kafka.common.utils.Utils.murmur2: unsigned
  // arithmetic stands in for Java's wrapping ints and >>> shifts.
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const size_t length = data.size();
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  const size_t length4 = length / 4;
  for (size_t i = 0; i < length4; ++i) {
    const size_t i4 = i * 4;
    uint32_t k = static_cast<uint32_t>(bytes[i4]) | (static_cast<uint32_t>(bytes[i4 + 1]) << 8) |
                 (static_cast<uint32_t>(bytes[i4 + 2]) << 16) |
                 (static_cast<uint32_t>(bytes[i4 + 3]) << 24);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  const size_t tail = length & ~static_cast<size_t>(3);
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(bytes[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(bytes[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(bytes[tail]);
      h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t PartitionFor(absl::string_view key, int32_t partition_count) {
  const uint32_t positive = static_cast<uint32_t>(Murmur2(key)) & 0x7fffffffu;
  return static_cast<int32_t>(positive % static_cast<uint32_t>(partition_count));
}

}  // namespace surge::kafka
