// The append queue's backpressure under a PlaceOrder flood, end to end
// through gRPC: surge-server has no flag for the queue's capacity, so this
// runs the server's App in-process with a small append_queue_capacity and
// floods it over loopback with 4,000 calls in flight. Every call must get OK
// or RESOURCE_EXHAUSTED, some must get RESOURCE_EXHAUSTED, and the server
// must serve normally afterwards. (Memory is measured against the real child
// process in flood_test.cc; here client and server share one process.)
//
// Must not link surge_test_support: server_lib's reflection protos clash
// with its client ones.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/app.h"
#include "surge/v1/surge.grpc.pb.h"
#include "tests/flood/call_tally.h"

namespace surge::server {
namespace {

using ::surge::testing::CallTally;

TEST(FloodQueueTest, SmallAppendQueueAnswersResourceExhaustedUnderAFloodAndRecovers) {
  char tmpl[] = "/tmp/surge-flood-queue-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    App::Options options;
    options.grpc_addr = "127.0.0.1:0";
    options.metrics_addr = "";
    options.data_dir = dir + "/data";
    options.durability = eventstore::Durability::kAsync;
    options.append_queue_capacity = 64;
    auto app = App::Start(options);
    ASSERT_TRUE(app.ok()) << app.status();

    const std::string address = absl::StrCat("127.0.0.1:", (*app)->port());
    std::vector<std::unique_ptr<v1::OrderService::Stub>> stubs;
    for (int i = 0; i < 8; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("surge.flood.channel", i);
      stubs.push_back(v1::OrderService::NewStub(
          grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
    }
    v1::PlaceOrderRequest large;
    large.set_user_id(std::string(128, 'u'));
    for (int l = 0; l < 100; ++l) {
      v1::OrderLine* line = large.add_lines();
      line->set_sku(absl::StrCat("sku-", l, "-", std::string(110, 'k')));
      line->set_quantity(1);
    }
    struct Call {
      grpc::ClientContext context;
      v1::PlaceOrderRequest request;
      v1::PlaceOrderResponse response;
    };
    constexpr int kCalls = 6000;
    constexpr int kInFlight = 4000;
    CallTally tally;
    for (int i = 0; i < kCalls; ++i) {
      tally.Acquire(kInFlight);
      auto* call = new Call;
      call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(40)));
      call->request = large;
      call->request.set_request_id(absl::StrCat("queue-flood-", i));
      stubs[i % stubs.size()]->async()->PlaceOrder(&call->context, &call->request, &call->response,
                                                   [call, &tally](grpc::Status status) {
                                                     // The call first: the last Done()
                                                     // lets the test tear down.
                                                     delete call;
                                                     tally.Done(status.error_code());
                                                   });
    }
    ASSERT_TRUE(tally.WaitAllDone(absl::Now() + absl::Seconds(60))) << "calls never finished";
    std::map<grpc::StatusCode, int64_t> statuses = tally.statuses();
    const int64_t ok = statuses[grpc::StatusCode::OK];
    const int64_t exhausted = statuses[grpc::StatusCode::RESOURCE_EXHAUSTED];
    std::cout << "OK " << ok << ", RESOURCE_EXHAUSTED " << exhausted << " of " << kCalls << "\n";
    EXPECT_EQ(ok + exhausted, kCalls) << "a status other than OK / RESOURCE_EXHAUSTED";
    EXPECT_GT(exhausted, 0) << "the 64-entry append queue never overflowed";
    EXPECT_GT(ok, 0);
    // Every OK order is in the log: OrderPlaced + 100 decrease requests.
    EXPECT_GE((*app)->store().HeadPosition(), static_cast<uint64_t>(ok) * 101);

    // Served normally afterwards.
    v1::PlaceOrderRequest after;
    after.set_request_id("after-flood");
    after.set_user_id("u");
    after.add_lines()->set_sku("sku-after");
    after.mutable_lines(0)->set_quantity(1);
    v1::PlaceOrderResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Status status = stubs[0]->PlaceOrder(&context, after, &response);
    // Admission refuses new orders while the flood's backlog is decided
    // (--max_decision_lag, --max_decision_delay_ms): served once it is,
    // within a bound.
    for (const absl::Time until = absl::Now() + absl::Seconds(60);
         status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
         absl::StartsWith(status.error_message(), "decision ") && absl::Now() < until;) {
      absl::SleepFor(absl::Milliseconds(200));  // a client's retry backoff
      grpc::ClientContext retry;
      retry.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      status = stubs[0]->PlaceOrder(&retry, after, &response);
    }
    EXPECT_TRUE(status.ok()) << status.error_message();
    (*app)->Shutdown();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace surge::server
