// Helpers for the end-to-end pipeline tests: a real surge-server child
// process with its embedded Kafka broker, driven over gRPC as a client would.
#ifndef SURGE_TESTS_PIPELINE_PIPELINE_TEST_UTIL_H_
#define SURGE_TESTS_PIPELINE_PIPELINE_TEST_UTIL_H_

#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "surge/v1/surge.grpc.pb.h"
#include "tests/support/server_process.h"

namespace surge::testing {

inline std::unique_ptr<grpc::ClientContext> Deadline(absl::Duration timeout = absl::Seconds(20)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

// Calls `probe` until it returns true or `timeout` passes (a bounded wait
// for state that has no notification RPC, e.g. a stock level after a
// compensation). Returns whether it became true.
inline bool Eventually(const std::function<bool()>& probe,
                       absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(5);
  while (true) {
    if (probe()) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
}

class PipelineClient {
 public:
  explicit PipelineClient(ServerProcess& server) : server_(server) {}

  void AdjustStock(const std::string& sku, int64_t delta) {
    v1::AdjustStockRequest request;
    request.set_request_id(absl::StrCat("adjust-", sku, "-", ++counter_, "-", absl::ToUnixNanos(absl::Now())));
    request.set_sku(sku);
    request.set_delta(delta);
    v1::AdjustStockResponse response;
    grpc::Status status = server_.Inventory()->AdjustStock(Deadline().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  absl::StatusOr<v1::PlaceOrderResponse> PlaceOrder(
      const std::string& request_id, const std::string& user,
      const std::vector<std::pair<std::string, int64_t>>& lines) {
    v1::PlaceOrderRequest request;
    request.set_request_id(request_id);
    request.set_user_id(user);
    for (const auto& [sku, quantity] : lines) {
      auto* line = request.add_lines();
      line->set_sku(sku);
      line->set_quantity(quantity);
    }
    v1::PlaceOrderResponse response;
    grpc::Status status = server_.Orders()->PlaceOrder(Deadline().get(), request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    }
    return response;
  }

  // GetOrder waiting (by notification, server side) for the saga to decide.
  absl::StatusOr<v1::Order> SettledOrder(const std::string& order_id,
                                         absl::Duration wait = absl::Seconds(20)) {
    v1::GetOrderRequest request;
    request.set_order_id(order_id);
    request.set_wait_for_settlement_ms(absl::ToInt64Milliseconds(wait));
    v1::Order order;
    grpc::Status status =
        server_.Orders()->GetOrder(Deadline(wait + absl::Seconds(10)).get(), request, &order);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    }
    return order;
  }

  absl::StatusOr<v1::Stock> GetStock(const std::string& sku) {
    v1::GetStockRequest request;
    request.set_sku(sku);
    v1::Stock stock;
    grpc::Status status = server_.Inventory()->GetStock(Deadline().get(), request, &stock);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    }
    return stock;
  }

  // True once GetStock answers `available`.
  bool StockBecomes(const std::string& sku, int64_t available,
                    absl::Duration timeout = absl::Seconds(30)) {
    return Eventually(
        [&] {
          auto stock = GetStock(sku);
          return stock.ok() && stock->available() == available;
        },
        timeout);
  }

  void CreateCampaign(const std::string& code, int64_t quantity, int64_t per_user_limit = 1) {
    v1::CreateCampaignRequest request;
    request.set_request_id(absl::StrCat("campaign-", code));
    request.set_code(code);
    request.set_total_quantity(quantity);
    request.set_per_user_limit(per_user_limit);
    v1::CreateCampaignResponse response;
    grpc::Status status = server_.Coupons()->CreateCampaign(Deadline().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  absl::StatusOr<v1::RequestCouponResponse> RequestCoupon(const std::string& request_id,
                                                          const std::string& user,
                                                          const std::string& code) {
    v1::RequestCouponRequest request;
    request.set_request_id(request_id);
    request.set_user_id(user);
    request.set_code(code);
    v1::RequestCouponResponse response;
    grpc::Status status = server_.Coupons()->RequestCoupon(Deadline().get(), request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    }
    return response;
  }

  absl::StatusOr<v1::CouponRequest> SettledCouponRequest(const std::string& request_id,
                                                         absl::Duration wait = absl::Seconds(20)) {
    v1::GetCouponRequestRequest request;
    request.set_request_id(request_id);
    request.set_wait_for_settlement_ms(absl::ToInt64Milliseconds(wait));
    v1::CouponRequest answer;
    grpc::Status status = server_.Coupons()->GetCouponRequest(
        Deadline(wait + absl::Seconds(10)).get(), request, &answer);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    }
    return answer;
  }

  absl::StatusOr<v1::Campaign> GetCampaign(const std::string& code) {
    v1::GetCampaignRequest request;
    request.set_code(code);
    v1::Campaign campaign;
    grpc::Status status = server_.Coupons()->GetCampaign(Deadline().get(), request, &campaign);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    }
    return campaign;
  }

  // The whole log, in order.
  std::vector<v1::Event> ReadAll() {
    std::vector<v1::Event> events;
    uint64_t from = 1;
    while (true) {
      v1::ReadAllRequest request;
      request.set_from_position(from);
      request.set_max_count(1000);
      v1::ReadAllResponse response;
      grpc::Status status = server_.EventStore()->ReadAll(Deadline().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok() || response.events().empty()) break;
      for (const auto& e : response.events()) events.push_back(e);
      from = response.next_position();
    }
    return events;
  }

 private:
  ServerProcess& server_;
  int counter_ = 0;
};

// A fixture with one fresh server (embedded broker) per test and a client.
class PipelineTest : public ::testing::Test {
 protected:
  // Extra surge-server flags of the fixture's server.
  virtual std::vector<std::string> ServerFlags() const { return {}; }

  void SetUp() override {
    auto server = ServerProcess::Start({.flags = ServerFlags()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<PipelineClient>(*server_);
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<PipelineClient> client_;
};

// Runs `fn(i)` for i in [0, n) on `threads` threads.
inline void ParallelFor(int n, int threads, const std::function<void(int)>& fn) {
  std::vector<std::thread> pool;
  std::atomic<int> next{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

}  // namespace surge::testing

#endif  // SURGE_TESTS_PIPELINE_PIPELINE_TEST_UTIL_H_
