#include "kafka/topics.h"

#include <librdkafka/rdkafka.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace surge::kafka {
namespace {

TEST(TopicsTest, DeadLetterTopicAppendsDlt) {
  EXPECT_EQ(DeadLetterTopic(kOrdersTopic), "surge.orders.dlt");
  EXPECT_EQ(DeadLetterTopic("x"), "x.dlt");
}

TEST(TopicsTest, EventTopicsListsTheThreeTopics) {
  EXPECT_EQ(EventTopics(),
            (std::vector<std::string>{"surge.orders", "surge.stock", "surge.coupons"}));
}

struct RouteCase {
  v1::Event event;
  std::string topic;
  std::string key;
  std::string type;
};

std::vector<RouteCase> AllPayloads() {
  std::vector<RouteCase> cases;
  auto add = [&](std::string topic, std::string key, std::string type, auto&& fill) {
    RouteCase c;
    fill(c.event);
    c.topic = std::move(topic);
    c.key = std::move(key);
    c.type = std::move(type);
    cases.push_back(std::move(c));
  };
  add(kOrdersTopic, "o1", "order_placed",
      [](v1::Event& e) { e.mutable_order_placed()->set_order_id("o1"); });
  add(kOrdersTopic, "o2", "order_cancellation_requested",
      [](v1::Event& e) { e.mutable_order_cancellation_requested()->set_order_id("o2"); });
  add(kOrdersTopic, "o3", "order_confirmed",
      [](v1::Event& e) { e.mutable_order_confirmed()->set_order_id("o3"); });
  add(kOrdersTopic, "o4", "order_cancelled",
      [](v1::Event& e) { e.mutable_order_cancelled()->set_order_id("o4"); });
  add(kOrdersTopic, "o5", "stock_decreased", [](v1::Event& e) {
    e.mutable_stock_decreased()->set_order_id("o5");
    e.mutable_stock_decreased()->set_sku("not-the-key");
  });
  add(kOrdersTopic, "o6", "stock_decrease_failed", [](v1::Event& e) {
    e.mutable_stock_decrease_failed()->set_order_id("o6");
    e.mutable_stock_decrease_failed()->set_sku("not-the-key");
  });
  add(kStockTopic, "s1", "stock_decrease_requested", [](v1::Event& e) {
    e.mutable_stock_decrease_requested()->set_sku("s1");
    e.mutable_stock_decrease_requested()->set_order_id("not-the-key");
  });
  add(kStockTopic, "s2", "stock_release_requested", [](v1::Event& e) {
    e.mutable_stock_release_requested()->set_sku("s2");
    e.mutable_stock_release_requested()->set_order_id("not-the-key");
  });
  add(kStockTopic, "s3", "stock_released", [](v1::Event& e) {
    e.mutable_stock_released()->set_sku("s3");
    e.mutable_stock_released()->set_order_id("not-the-key");
  });
  add(kStockTopic, "s4", "stock_adjusted",
      [](v1::Event& e) { e.mutable_stock_adjusted()->set_sku("s4"); });
  add(kStockTopic, "s5", "stock_adjustment_rejected",
      [](v1::Event& e) { e.mutable_stock_adjustment_rejected()->set_sku("s5"); });
  add(kCouponsTopic, "c1", "campaign_created",
      [](v1::Event& e) { e.mutable_campaign_created()->set_code("c1"); });
  add(kCouponsTopic, "c2", "coupon_requested", [](v1::Event& e) {
    e.mutable_coupon_requested()->set_code("c2");
    e.mutable_coupon_requested()->set_user_id("not-the-key");
  });
  add(kCouponsTopic, "c3", "coupon_issued",
      [](v1::Event& e) { e.mutable_coupon_issued()->set_code("c3"); });
  add(kCouponsTopic, "c4", "coupon_rejected",
      [](v1::Event& e) { e.mutable_coupon_rejected()->set_code("c4"); });
  return cases;
}

TEST(TopicsTest, RoutesEveryPayloadToItsTopicAndKey) {
  const std::vector<RouteCase> cases = AllPayloads();
  // Every payload of the oneof is covered: a new payload must be routed.
  ASSERT_EQ(static_cast<int>(cases.size()),
            v1::Event::descriptor()->FindOneofByName("payload")->field_count());
  for (const RouteCase& c : cases) {
    SCOPED_TRACE(c.type);
    absl::StatusOr<Route> route = RouteEvent(c.event);
    ASSERT_TRUE(route.ok()) << route.status();
    EXPECT_EQ(route->topic, c.topic);
    EXPECT_EQ(route->key, c.key);
    EXPECT_EQ(EventTypeName(c.event), c.type);
  }
}

TEST(TopicsTest, RejectsEventWithoutPayload) {
  v1::Event event;
  event.set_position(7);
  absl::StatusOr<Route> route = RouteEvent(event);
  EXPECT_EQ(route.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EventTypeName(event), "");
}

TEST(TopicsTest, RejectsEmptyKey) {
  v1::Event event;
  event.mutable_order_placed();  // no order id
  EXPECT_EQ(RouteEvent(event).status().code(), absl::StatusCode::kInvalidArgument);
}

// Expected values are those of the Java client's Utils.murmur2 (Kafka's own
// UtilsTest.testMurmur2 vectors).
TEST(TopicsTest, Murmur2MatchesJavaClientVectors) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

// "hello": murmur2 = 2132663229 (0x7F1D5F3D, already positive), and
// 2132663229 % 6 = 3, so the Java default partitioner puts it on partition 3.
TEST(TopicsTest, PartitionForHelloWithSixPartitionsIsThree) {
  EXPECT_EQ(Murmur2("hello"), 2132663229);
  EXPECT_EQ(PartitionFor("hello", 6), 3);
}

// A negative hash is masked to positive (not abs()), as in Java's toPositive.
TEST(TopicsTest, PartitionForMasksNegativeHashes) {
  // murmur2("21") = -973932308; & 0x7fffffff = 1173551340; % 6 = 0.
  EXPECT_EQ(PartitionFor("21", 6), 0);
  EXPECT_EQ(PartitionFor("a-little-bit-long-string", 6), 2);
}

TEST(TopicsTest, PartitionForAgreesWithLibrdkafkaMurmur2Partitioner) {
  for (int i = 0; i < 500; ++i) {
    const std::string key = "key-" + std::to_string(i * 7919);
    for (int32_t partitions : {1, 3, 6, 7, 32}) {
      EXPECT_EQ(PartitionFor(key, partitions),
                rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions,
                                                 nullptr, nullptr))
          << key << " / " << partitions;
    }
  }
}

}  // namespace
}  // namespace surge::kafka
