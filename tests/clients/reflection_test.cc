// Server reflection as grpcurl uses it: list the services, resolve a method's
// descriptors from the server alone, and call it with dynamic messages.
#include <algorithm>

#include "clients/reflection/dynamic_client.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "surge/v1/surge.pb.h"
#include "tests/clients/live_server.h"

namespace surge::testing {
namespace {

using surge::reflection::DynamicClient;

TEST(ReflectionTest, ListsTheSurgeServices) {
  DynamicClient client(LiveServer::Get().channel());
  absl::StatusOr<std::vector<std::string>> services = client.ListServices();
  ASSERT_TRUE(services.ok()) << services.status();
  for (const char* name :
       {"surge.v1.OrderService", "surge.v1.InventoryService", "surge.v1.CouponService",
        "surge.v1.EventStoreService", "surge.v1.DeadLetterService", "grpc.health.v1.Health"}) {
    EXPECT_NE(std::find(services->begin(), services->end(), name), services->end())
        << name << " not listed";
  }
}

TEST(ReflectionTest, CallsMethodsWithDynamicMessages) {
  DynamicClient client(LiveServer::Get().channel());
  absl::StatusOr<std::string> placed = client.CallUnaryJson(
      "surge.v1.OrderService/PlaceOrder",
      R"({"request_id":"reflection-1","user_id":"u-r","lines":[{"sku":"r-sku","quantity":1}]})");
  ASSERT_TRUE(placed.ok()) << placed.status();
  // The dynamic answer is the real PlaceOrderResponse on the wire.
  surge::v1::PlaceOrderResponse resp;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*placed, &resp).ok()) << *placed;
  ASSERT_FALSE(resp.order_id().empty()) << *placed;

  absl::StatusOr<std::string> got = client.CallUnaryJson(
      "surge.v1.OrderService.GetOrder", "{\"order_id\":\"" + resp.order_id() + "\"}");
  ASSERT_TRUE(got.ok()) << got.status();
  surge::v1::Order order;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*got, &order).ok()) << *got;
  EXPECT_EQ(order.order_id(), resp.order_id());
  EXPECT_EQ(order.user_id(), "u-r");

  absl::StatusOr<std::string> missing =
      client.CallUnaryJson("surge.v1.OrderService/GetOrder", R"({"order_id":"nope"})");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  EXPECT_EQ(client.CallUnaryJson("surge.v1.NoSuchService/Call", "{}").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace surge::testing
