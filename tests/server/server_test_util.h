// Helpers for the gRPC integration tests against a child surge-server.
#ifndef SURGE_TESTS_SERVER_SERVER_TEST_UTIL_H_
#define SURGE_TESTS_SERVER_SERVER_TEST_UTIL_H_

#include <grpcpp/client_context.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"

namespace surge::testing {

// A client context with a deadline, so a hung server fails the test instead
// of hanging it.
inline std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(10)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

inline v1::OrderLine Line(std::string sku, int64_t quantity) {
  v1::OrderLine line;
  line.set_sku(std::move(sku));
  line.set_quantity(quantity);
  return line;
}

inline v1::PlaceOrderRequest OrderRequest(std::string request_id) {
  v1::PlaceOrderRequest request;
  request.set_request_id(std::move(request_id));
  request.set_user_id("user-1");
  *request.add_lines() = Line("sku-a", 2);
  *request.add_lines() = Line("sku-b", 1);
  return request;
}

// A fixture with one fresh server per test.
class ServerTest : public ::testing::Test {
 protected:
  virtual ServerProcess::Options ServerOptions() { return {}; }

  void SetUp() override {
    auto server = ServerProcess::Start(ServerOptions());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  uint64_t Head() {
    auto head = server_->HeadPosition();
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? *head : 0;
  }

  // The whole log, paged through ReadAll.
  std::vector<v1::Event> ReadLog() {
    std::vector<v1::Event> events;
    auto log = server_->EventStore();
    v1::ReadAllRequest request;
    request.set_max_count(1000);
    request.set_from_position(1);
    while (true) {
      v1::ReadAllResponse page;
      grpc::Status status = log->ReadAll(Ctx().get(), request, &page);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok() || page.events_size() == 0) return events;
      for (const v1::Event& e : page.events()) events.push_back(e);
      request.set_from_position(page.next_position());
    }
  }

  // Events only command handlers append. The projections (when the server
  // runs them) append their decisions concurrently, so "nothing written" is
  // checked on these rather than on the head position.
  int CommandEvents() {
    int count = 0;
    for (const v1::Event& e : ReadLog()) {
      if (e.has_order_placed() || e.has_stock_decrease_requested() ||
          e.has_order_cancellation_requested() || e.has_stock_adjusted() ||
          e.has_campaign_created() || e.has_coupon_requested()) {
        ++count;
      }
    }
    return count;
  }

  std::unique_ptr<ServerProcess> server_;
};

}  // namespace surge::testing

#endif  // SURGE_TESTS_SERVER_SERVER_TEST_UTIL_H_
