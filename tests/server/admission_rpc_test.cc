// Admission's time budget end to end: a server whose projections cannot
// decide its backlog within the budget refuses new orders with
// RESOURCE_EXHAUSTED (and says why), every order it accepted is still
// decided, and once the backlog is decided it accepts again. A 1 ms budget
// makes any backlog an overload, whatever this machine's speed.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace surge::testing {
namespace {

class AdmissionRpcTest : public ServerTest {
 protected:
  // The tightest budget, so the clients' backlog trips it at once.
  ServerProcess::Options ServerOptions() override {
    return {.flags = {"--max_decision_delay_ms=1", "--max_decision_lag=0"}};
  }
};

TEST_F(AdmissionRpcTest, RefusesWhileDecisionsLagThenAcceptsAgain) {
  constexpr int kThreads = 32;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  std::atomic<bool> refused{false};
  absl::Mutex mu;
  std::vector<std::string> accepted;
  std::string refusal;
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; !refused.load() && absl::Now() < give_up; ++i) {
        const v1::PlaceOrderRequest request = OrderRequest(absl::StrCat("adm-", t, "-", i));
        v1::PlaceOrderResponse response;
        grpc::Status status = server_->Orders()->PlaceOrder(Ctx().get(), request, &response);
        absl::MutexLock lock(&mu);
        if (status.ok()) {
          accepted.push_back(response.order_id());
        } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          refusal = status.error_message();
          refused.store(true);
        } else {
          ADD_FAILURE() << "unexpected " << status.error_code() << ": " << status.error_message();
          refused.store(true);
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  ASSERT_TRUE(refused.load()) << kThreads << " clients for 60 s were never refused";
  // The oldest command's wait, or the backlog's projected drain time once
  // the rate is measured.
  EXPECT_TRUE(absl::StartsWith(refusal, "decision delay: ")) << refusal;
  EXPECT_TRUE(absl::StrContains(refusal, "--max_decision_delay_ms")) << refusal;
  ASSERT_FALSE(accepted.empty());

  // Nothing accepted is dropped: every order is decided.
  for (const std::string& id : accepted) {
    v1::GetOrderRequest get;
    get.set_order_id(id);
    get.set_wait_for_settlement_ms(30000);
    v1::Order order;
    ASSERT_TRUE(server_->Orders()->GetOrder(Ctx(absl::Seconds(40)).get(), get, &order).ok());
    ASSERT_NE(order.status(), v1::ORDER_STATUS_PENDING) << id;
  }
  // Once the pipeline has caught up (the last hops after each order's own
  // decision included) a new order is accepted; a client retries with
  // backoff until then.
  grpc::Status status;
  for (const absl::Time until = absl::Now() + absl::Seconds(30);;) {
    v1::PlaceOrderResponse after;
    status = server_->Orders()->PlaceOrder(Ctx().get(), OrderRequest("adm-after"), &after);
    if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED || absl::Now() > until) break;
    absl::SleepFor(absl::Milliseconds(50));  // the client's backoff
  }
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace surge::testing
