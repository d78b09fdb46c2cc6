// Admin auth, Subscribe, health, reflection and process lifecycle of a child
// surge-server.
#include <grpcpp/create_channel.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

// --- admin auth ---------------------------------------------------------------

class AdminAuthRpcTest : public ServerTest {
 protected:
  ServerProcess::Options ServerOptions() override {
    const std::string path = token_dir_.Path("token");
    std::ofstream(path) << "  s3cret-token\n";  // trimmed by the server
    return {.flags = {"--admin_token_file=" + path}};
  }

  std::unique_ptr<grpc::ClientContext> AdminCtx(const std::string& authorization) {
    auto context = Ctx();
    if (!authorization.empty()) context->AddMetadata("authorization", authorization);
    return context;
  }

  TempDir token_dir_;
};

TEST_F(AdminAuthRpcTest, AdminRpcsNeedTheBearerTokenAndWriteNothingWithoutIt) {
  auto inventory = server_->Inventory();
  auto coupons = server_->Coupons();
  v1::AdjustStockRequest adjust;
  adjust.set_request_id("s-1");
  adjust.set_sku("sku-a");
  adjust.set_delta(5);
  v1::AdjustStockResponse adjusted;
  v1::CreateCampaignRequest create;
  create.set_request_id("c-1");
  create.set_code("SALE");
  create.set_total_quantity(5);
  v1::CreateCampaignResponse created;

  for (const std::string& bad :
       {std::string(), std::string("Bearer wrong"), std::string("Bearer s3cret-tokenX"),
        std::string("Basic s3cret-token"), std::string("s3cret-token")}) {
    SCOPED_TRACE("authorization: '" + bad + "'");
    EXPECT_EQ(inventory->AdjustStock(AdminCtx(bad).get(), adjust, &adjusted).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(coupons->CreateCampaign(AdminCtx(bad).get(), create, &created).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    v1::ListDeadLettersResponse list;
    EXPECT_EQ(server_->DeadLetters()
                  ->ListDeadLetters(AdminCtx(bad).get(), v1::ListDeadLettersRequest(), &list)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(CommandEvents(), 0);

  grpc::Status status =
      inventory->AdjustStock(AdminCtx("Bearer s3cret-token").get(), adjust, &adjusted);
  EXPECT_TRUE(status.ok()) << status.error_message();
  status = coupons->CreateCampaign(AdminCtx("Bearer s3cret-token").get(), create, &created);
  EXPECT_TRUE(status.ok()) << status.error_message();
  v1::ListDeadLettersResponse list;
  status = server_->DeadLetters()->ListDeadLetters(AdminCtx("Bearer s3cret-token").get(),
                                                   v1::ListDeadLettersRequest(), &list);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(CommandEvents(), 2);

  // Customer RPCs need no token.
  v1::PlaceOrderResponse placed;
  EXPECT_TRUE(server_->Orders()->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed).ok());
}

// --- Subscribe ------------------------------------------------------------------

class SubscribeTest : public ServerTest {
 protected:
  ServerProcess::Options ServerOptions() override { return {.flags = {"--max_subscriptions=1"}}; }
};

TEST_F(SubscribeTest, DeliversTheCatchUpThenLiveEventsInOrder) {
  auto orders = server_->Orders();
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed).ok());  // 1..3

  auto context = Ctx(absl::Seconds(20));
  v1::SubscribeRequest request;
  request.set_from_position(2);
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader =
      server_->EventStore()->Subscribe(context.get(), request);
  v1::Event event;
  ASSERT_TRUE(reader->Read(&event)) << reader->Finish().error_message();
  EXPECT_EQ(event.position(), 2u);
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.position(), 3u);

  // Live: appended after the stream caught up. Every position arrives, in
  // order (projections may interleave their own events).
  v1::PlaceOrderResponse live;
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-2"), &live).ok());
  uint64_t last = event.position();
  int live_events = 0;
  while (live_events < 3) {
    ASSERT_TRUE(reader->Read(&event)) << "stream ended after position " << last;
    EXPECT_EQ(event.position(), last + 1);
    last = event.position();
    if (event.stream_id() == "order-" + live.order_id() &&
        (event.has_order_placed() || event.has_stock_decrease_requested())) {
      ++live_events;
    }
  }

  // The cap (1): a second stream is refused while this one runs.
  auto second_context = Ctx();
  auto second = server_->EventStore()->Subscribe(second_context.get(), request);
  EXPECT_FALSE(second->Read(&event));
  EXPECT_EQ(second->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  context->TryCancel();
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

// A stream filtered to the decision types carries each order's decision
// and nothing else, from the catch-up through the live tail, in position
// order; an unknown type is refused before anything is sent.
TEST_F(SubscribeTest, FilteredStreamCarriesOnlyTheNamedTypes) {
  auto orders = server_->Orders();
  std::set<std::string> placed_ids;
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed).ok());
  placed_ids.insert(placed.order_id());

  auto context = Ctx(absl::Seconds(20));
  v1::SubscribeRequest request;
  request.set_from_position(1);
  request.add_event_types("order_confirmed");
  request.add_event_types("order_cancelled");
  request.add_event_types("order_confirmed");  // a repeat is harmless
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader =
      server_->EventStore()->Subscribe(context.get(), request);
  std::set<std::string> decided_ids;
  uint64_t last = 0;
  v1::Event event;
  // Two more orders before the first Read: the decisions of all three
  // tend to reach the stream together, so its first write finds more
  // events behind it (the case that hung, see subscribe_reactor.cc).
  for (const char* id : {"r-2", "r-3"}) {
    ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest(id), &placed).ok());
    placed_ids.insert(placed.order_id());
  }
  while (decided_ids.size() < placed_ids.size()) {
    if (!reader->Read(&event)) {
      std::string states;
      for (const std::string& id : placed_ids) {
        v1::GetOrderRequest get;
        get.set_order_id(id);
        v1::Order order;
        grpc::Status s = server_->Orders()->GetOrder(Ctx().get(), get, &order);
        states += id + ": " + (s.ok() ? order.ShortDebugString() : s.error_message()) + "\n";
      }
      FAIL() << "stream ended after position " << last << ": " << reader->Finish().error_message()
             << "\norders:\n" << states << server_->LogTail();
    }
    ASSERT_TRUE(event.has_order_confirmed() || event.has_order_cancelled())
        << "position " << event.position() << " is not a decision: " << event.ShortDebugString();
    EXPECT_GT(event.position(), last);
    last = event.position();
    decided_ids.insert(event.has_order_confirmed() ? event.order_confirmed().order_id()
                                                   : event.order_cancelled().order_id());
  }
  EXPECT_EQ(decided_ids, placed_ids);
  context->TryCancel();
  while (reader->Read(&event)) {
  }
  reader->Finish();

  v1::SubscribeRequest bad;
  bad.add_event_types("order_confirmed");
  bad.add_event_types("order_shipped");
  auto bad_context = Ctx();
  auto refused = server_->EventStore()->Subscribe(bad_context.get(), bad);
  EXPECT_FALSE(refused->Read(&event));
  const grpc::Status status = refused->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("order_shipped"));
  EXPECT_THAT(status.error_message(), HasSubstr("coupon_issued"));  // lists the known ones
}

TEST_F(SubscribeTest, ShutdownEndsALiveStreamAndExitsCleanly) {
  auto context = Ctx(absl::Seconds(30));
  auto reader = server_->EventStore()->Subscribe(context.get(), v1::SubscribeRequest());
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(server_->Orders()->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed).ok());
  v1::Event event;
  ASSERT_TRUE(reader->Read(&event));  // the stream is live

  const absl::Time start = absl::Now();
  auto exit_code = server_->Terminate();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
  // Well inside the 5 s grace: the stream was ended, not waited out.
  EXPECT_LT(absl::Now() - start, absl::Seconds(4)) << server_->LogTail();
  while (reader->Read(&event)) {
  }
  EXPECT_NE(reader->Finish().error_code(), grpc::StatusCode::OK);
}

// Streams whose clients never read: their writes stall on HTTP/2 flow
// control with events still buffered. A shutdown must still end them (gRPC
// answers the stalled write once it cancels the call) and exit within the
// grace period, not hang on them.
TEST_F(SubscribeTest, ShutdownEndsStreamsStalledByClientsThatNeverRead) {
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::Event>>> readers;
  for (int i = 0; i < 4; ++i) {
    contexts.push_back(Ctx(absl::Seconds(60)));
    readers.push_back(
        server_->EventStore()->Subscribe(contexts.back().get(), v1::SubscribeRequest()));
  }
  // ~3,000 events of ~300 bytes: far past each stream's 64 KiB window and
  // the 256 events a stream pulls ahead.
  for (int i = 0; i < 1000; ++i) {
    v1::PlaceOrderResponse placed;
    v1::PlaceOrderRequest request = OrderRequest(absl::StrCat("stall-", i));
    request.add_lines()->CopyFrom(request.lines(0));
    ASSERT_TRUE(server_->Orders()->PlaceOrder(Ctx().get(), request, &placed).ok());
  }
  const absl::Time start = absl::Now();
  auto exit_code = server_->Terminate();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << server_->LogTail();
  // The 5 s grace, then the calls are cancelled and the streams end.
  EXPECT_LT(absl::Now() - start, absl::Seconds(12)) << server_->LogTail();
  for (auto& context : contexts) context->TryCancel();
}

// --- health and reflection ---------------------------------------------------

class DiscoveryTest : public ServerTest {};

TEST_F(DiscoveryTest, HealthIsServing) {
  auto health = grpc::health::v1::Health::NewStub(server_->channel());
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status =
      health->Check(Ctx().get(), grpc::health::v1::HealthCheckRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(DiscoveryTest, ReflectionListsAndDescribesTheSurgeServices) {
  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(server_->channel());
  auto context = Ctx();
  auto stream = reflection->ServerReflectionInfo(context.get());

  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::set<std::string> services;
  for (const auto& service : response.list_services_response().service()) {
    services.insert(service.name());
  }
  EXPECT_THAT(services, IsSupersetOf({"surge.v1.OrderService", "surge.v1.InventoryService",
                                      "surge.v1.CouponService", "surge.v1.EventStoreService",
                                      "surge.v1.DeadLetterService"}));

  // grpcurl's next step: the file defining a service, so it needs no .proto.
  request.set_file_containing_symbol("surge.v1.OrderService");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_file_descriptor_response()) << response.DebugString();
  EXPECT_GE(response.file_descriptor_response().file_descriptor_proto_size(), 1);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

// --- lifecycle ------------------------------------------------------------------

class LifecycleTest : public ServerTest {};

TEST_F(LifecycleTest, SigtermExitsZeroAndTheDataReopens) {
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(server_->Orders()->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed).ok());
  auto exit_code = server_->Terminate();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << server_->LogTail();

  ASSERT_TRUE(server_->Restart().ok()) << server_->LogTail();
  EXPECT_EQ(CommandEvents(), 3);
  v1::PlaceOrderResponse again;
  ASSERT_TRUE(server_->Orders()->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &again).ok());
  EXPECT_TRUE(again.duplicate());  // the idempotency key survived the restart
  EXPECT_EQ(again.order_id(), placed.order_id());
}

TEST_F(LifecycleTest, AcknowledgedCommandsSurviveKillNine) {
  v1::PlaceOrderResponse placed;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(server_->Orders()
                    ->PlaceOrder(Ctx().get(), OrderRequest("r-" + std::to_string(i)), &placed)
                    .ok());
  }
  server_->Kill();
  ASSERT_TRUE(server_->Restart().ok()) << server_->LogTail();
  EXPECT_EQ(CommandEvents(), 15);
  v1::GetOrderRequest get;
  get.set_order_id(placed.order_id());
  v1::Order order;
  EXPECT_TRUE(server_->Orders()->GetOrder(Ctx().get(), get, &order).ok());
}

// --- TLS ---------------------------------------------------------------------------

TEST(TlsTest, ServesOverTlsAndRefusesPlaintext) {
  TempDir dir;
  const std::string cert = dir.Path("cert.pem"), key = dir.Path("key.pem");
  const std::string command = absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout ",
      key, " -out ", cert, " > ", dir.Path("openssl.log"), " 2>&1");
  ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed: " << command;
  std::ifstream in(cert);
  std::stringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem.str();

  auto server = ServerProcess::Start({.flags = {"--tls_cert=" + cert, "--tls_key=" + key},
                                      .credentials = grpc::SslCredentials(ssl)});
  ASSERT_TRUE(server.ok()) << server.status();
  v1::PlaceOrderResponse placed;
  grpc::Status status = (*server)->Orders()->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed);
  EXPECT_TRUE(status.ok()) << status.error_message();

  auto plaintext = v1::OrderService::NewStub(
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(
      plaintext->PlaceOrder(Ctx(absl::Seconds(3)).get(), OrderRequest("r-2"), &placed).error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

// The embedded broker holds an empty fetch for its full wait, so the server
// asks for a short one (1 ms) unless told otherwise; the saga runs either way.
TEST(StartupTest, ProjectionsFetchWithTheConfiguredWait) {
  for (const auto& [flags, expected] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "fetch.wait.max.ms=1"}, {{"--kafka_fetch_wait_ms=7"}, "fetch.wait.max.ms=7"}}) {
    SCOPED_TRACE(expected);
    auto server = ServerProcess::Start({.flags = flags});
    ASSERT_TRUE(server.ok()) << server.status();
    EXPECT_THAT((*server)->LogTail(100000), HasSubstr("projections fetch with " + expected));
    // No stock anywhere: the saga cancels the order over both hops.
    v1::PlaceOrderResponse placed;
    grpc::Status status =
        (*server)->Orders()->PlaceOrder(Ctx().get(), OrderRequest("fw-order"), &placed);
    ASSERT_TRUE(status.ok()) << status.error_message();
    v1::GetOrderRequest get;
    get.set_order_id(placed.order_id());
    get.set_wait_for_settlement_ms(10000);
    v1::Order order;
    status = (*server)->Orders()->GetOrder(Ctx(absl::Seconds(15)).get(), get, &order);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(order.status(), v1::ORDER_STATUS_CANCELLED) << (*server)->LogTail();
  }
}

TEST(StartupTest, RefusesADataDirOfAnotherFormat) {
  TempDir dir;
  const std::string data = dir.Path("data");
  std::filesystem::create_directories(data);
  std::ofstream(data + "/FORMAT") << "surge-data-format 999\n";
  auto exit = ServerProcess::RunToExit({"--grpc_addr=127.0.0.1:0", "--data_dir=" + data},
                                       absl::Seconds(20));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_NE(exit->exit_code, 0);
  EXPECT_EQ(exit->signal, 0);
  EXPECT_THAT(exit->log, HasSubstr("cannot open the data dir " + data));
  EXPECT_THAT(exit->log, HasSubstr("version 999"));
}

TEST(StartupTest, RefusesANonLoopbackAddressWithoutAToken) {
  TempDir dir;
  auto exit = ServerProcess::RunToExit({"--grpc_addr=0.0.0.0:0", "--data_dir=" + dir.Path("data")},
                                       absl::Seconds(20));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_NE(exit->exit_code, 0);
  EXPECT_THAT(exit->log, HasSubstr("without --admin_token_file"));
}

TEST(StartupTest, RefusesHalfATlsPairAndBadFlags) {
  TempDir dir;
  for (const auto& flag :
       {std::string("--tls_cert=/nonexistent.pem"), std::string("--durability=maybe"),
        std::string("--node_id=a b"), std::string("--embedded_brokers=0"),
        std::string("--embedded_brokers=10"), std::string("--append_queue_capacity=0"),
        std::string("--append_queue_mib=0"), std::string("--kafka_fetch_wait_ms=-1"),
        std::string("--kafka_fetch_wait_ms=1001")}) {
    SCOPED_TRACE(flag);
    auto exit = ServerProcess::RunToExit(
        {"--grpc_addr=127.0.0.1:0", "--data_dir=" + dir.Path("data"), flag}, absl::Seconds(20));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_NE(exit->exit_code, 0) << exit->log;
    EXPECT_THAT(exit->log, HasSubstr("surge-server: "));
  }
}

}  // namespace
}  // namespace surge::testing
