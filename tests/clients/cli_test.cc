// surge-cli against a live surge-server: every command group, human and
// --json output, exit codes (0 ok, 1 RPC error, 2 usage), admin tokens,
// `events tail` until SIGTERM and `load` with its progress bar.
#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "surge/v1/surge.pb.h"
#include "tests/clients/cli_test_util.h"

namespace surge::testing {
namespace {

using google::protobuf::util::JsonStringToMessage;

// Names unique to one test, so tests never share SKUs or campaigns.
std::string Unique(const std::string& what) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat(what, "-", info->name());
}

// Restocks `sku` and places an order for `qty` of it; returns the order id.
std::string PlaceConfirmableOrder(const std::string& sku, int qty) {
  RunResult stock = AdminCli({"stock", "adjust", sku, "100"});
  EXPECT_EQ(stock.exit_code, 0) << Describe(stock);
  RunResult placed =
      Cli({"order", "place", "--user", "u-1", "--line", absl::StrCat(sku, ":", qty)});
  EXPECT_EQ(placed.exit_code, 0) << Describe(placed);
  return ValueOf(placed.out, "order_id");
}

TEST(CliTest, HelpPrintsUsageAndExitsZero) {
  RunResult top = Cli({"--help"});
  EXPECT_EQ(top.exit_code, 0) << Describe(top);
  EXPECT_TRUE(absl::StrContains(top.out, "usage: surge-cli")) << top.out;
  EXPECT_TRUE(absl::StrContains(top.out, "events tail")) << top.out;
  RunResult cmd = Cli({"order", "get", "--help"});
  EXPECT_EQ(cmd.exit_code, 0) << Describe(cmd);
  EXPECT_TRUE(absl::StrContains(cmd.out, "usage: surge-cli order get ID")) << cmd.out;
  EXPECT_TRUE(absl::StrContains(cmd.out, "--wait")) << cmd.out;
}

TEST(CliTest, UsageErrorsExitTwoWithMessageAndUsage) {
  RunResult no_line = Cli({"order", "place", "--user", "u-1"});
  EXPECT_EQ(no_line.exit_code, 2) << Describe(no_line);
  EXPECT_TRUE(absl::StartsWith(no_line.err, "error: at least one --line SKU:QTY is required"))
      << no_line.err;
  EXPECT_TRUE(absl::StrContains(no_line.err, "usage: surge-cli order place")) << no_line.err;
  EXPECT_EQ(no_line.out, "");

  RunResult unknown = Cli({"orders", "get", "x"});
  EXPECT_EQ(unknown.exit_code, 2) << Describe(unknown);
  EXPECT_TRUE(absl::StrContains(unknown.err, "unknown command \"orders\"")) << unknown.err;

  RunResult bad_flag = Cli({"stock", "get", "sku", "--bogus"});
  EXPECT_EQ(bad_flag.exit_code, 2) << Describe(bad_flag);
  EXPECT_TRUE(absl::StrContains(bad_flag.err, "unknown flag --bogus")) << bad_flag.err;

  RunResult bad_line = Cli({"order", "place", "--user", "u", "--line", "nocolon"});
  EXPECT_EQ(bad_line.exit_code, 2) << Describe(bad_line);
}

TEST(CliTest, NotFoundExitsOneWithCodeAndMessage) {
  RunResult r = Cli({"order", "get", "o-does-not-exist"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: NOT_FOUND: ")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliTest, ServerRejectionExitsOneWithInvalidArgument) {
  RunResult r = AdminCli({"stock", "adjust", "bad sku with spaces", "5"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: INVALID_ARGUMENT: ")) << r.err;
}

TEST(CliTest, AdminCommandsSendTheTokenFromFlagOrEnvironment) {
  const std::string sku = Unique("sku");
  RunResult without = Cli({"stock", "adjust", sku, "5"});
  EXPECT_EQ(without.exit_code, 1) << Describe(without);
  EXPECT_TRUE(absl::StartsWith(without.err, "error: UNAUTHENTICATED: ") ||
              absl::StartsWith(without.err, "error: PERMISSION_DENIED: "))
      << without.err;

  RunResult with_flag = Cli({"stock", "adjust", sku, "5", "--token", LiveServer::kAdminToken});
  EXPECT_EQ(with_flag.exit_code, 0) << Describe(with_flag);
  RunResult with_env = Cli({"stock", "adjust", sku, "5"},
                           {{"SURGE_ADMIN_TOKEN", std::string(LiveServer::kAdminToken)}});
  EXPECT_EQ(with_env.exit_code, 0) << Describe(with_env);
  // Generated request ids differ, so both adjustments count.
  EXPECT_NE(ValueOf(with_flag.out, "request_id"), ValueOf(with_env.out, "request_id"));
  EXPECT_EQ(ValueOf(with_env.out, "duplicate"), "false");
}

TEST(CliTest, OrderPlaceGetCancelHumanOutput) {
  const std::string sku = Unique("sku");
  RunResult stock = AdminCli({"stock", "adjust", sku, "10"});
  ASSERT_EQ(stock.exit_code, 0) << Describe(stock);
  EXPECT_TRUE(absl::StartsWith(ValueOf(stock.out, "request_id"), "cli-")) << stock.out;

  RunResult placed = Cli({"order", "place", "--user", "u-1", "--line", sku + ":2"});
  ASSERT_EQ(placed.exit_code, 0) << Describe(placed);
  EXPECT_EQ(ValueOf(placed.out, "status"), "PENDING") << placed.out;
  const std::string order_id = ValueOf(placed.out, "order_id");
  ASSERT_FALSE(order_id.empty()) << placed.out;

  RunResult got = Cli({"order", "get", order_id, "--wait", "15000"});
  ASSERT_EQ(got.exit_code, 0) << Describe(got);
  EXPECT_EQ(ValueOf(got.out, "status"), "CONFIRMED") << got.out;
  EXPECT_EQ(ValueOf(got.out, "lines[0].sku"), sku) << got.out;
  EXPECT_EQ(ValueOf(got.out, "lines[0].quantity"), "2") << got.out;

  RunResult stock_now = Cli({"stock", "get", sku});
  ASSERT_EQ(stock_now.exit_code, 0) << Describe(stock_now);
  EXPECT_EQ(ValueOf(stock_now.out, "available"), "8") << stock_now.out;

  RunResult cancelled = Cli({"order", "cancel", order_id, "--wait", "15000"});
  ASSERT_EQ(cancelled.exit_code, 0) << Describe(cancelled);
  EXPECT_EQ(ValueOf(cancelled.out, "status"), "CANCELLED") << cancelled.out;
}

TEST(CliTest, JsonOutputIsOneProtobufObjectPerLine) {
  const std::string sku = Unique("sku");
  ASSERT_EQ(AdminCli({"stock", "adjust", sku, "10"}).exit_code, 0);
  RunResult placed = Cli({"--json", "order", "place", "--user", "u-1", "--line", sku + ":1"});
  ASSERT_EQ(placed.exit_code, 0) << Describe(placed);
  ASSERT_EQ(std::count(placed.out.begin(), placed.out.end(), '\n'), 1) << placed.out;
  surge::v1::PlaceOrderResponse resp;
  ASSERT_TRUE(JsonStringToMessage(placed.out, &resp).ok()) << placed.out;
  EXPECT_EQ(resp.status(), surge::v1::ORDER_STATUS_PENDING);
  EXPECT_TRUE(absl::StrContains(placed.err, "request_id: cli-")) << placed.err;

  RunResult got = Cli({"order", "get", resp.order_id(), "--wait", "15000", "--json"});
  ASSERT_EQ(got.exit_code, 0) << Describe(got);
  surge::v1::Order order;
  ASSERT_TRUE(JsonStringToMessage(got.out, &order).ok()) << got.out;
  EXPECT_EQ(order.order_id(), resp.order_id());
  EXPECT_EQ(order.status(), surge::v1::ORDER_STATUS_CONFIRMED);
}

TEST(CliTest, RepeatedRequestIdReturnsTheFirstAnswer) {
  const std::string sku = Unique("sku");
  const std::string rid = Unique("req");
  std::vector<std::string> args = {"order",  "place",    "--user",       "u-1",
                                   "--line", sku + ":1", "--request-id", rid};
  RunResult first = Cli(args);
  RunResult second = Cli(args);
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  ASSERT_EQ(second.exit_code, 0) << Describe(second);
  EXPECT_EQ(ValueOf(first.out, "request_id"), rid);
  EXPECT_EQ(ValueOf(first.out, "order_id"), ValueOf(second.out, "order_id"));
  EXPECT_EQ(ValueOf(first.out, "duplicate"), "false");
  EXPECT_EQ(ValueOf(second.out, "duplicate"), "true");
}

TEST(CliTest, CouponCampaignRequestAndOutcome) {
  const std::string code = Unique("code");
  RunResult created = AdminCli({"coupon", "create", code, "--quantity", "1"});
  ASSERT_EQ(created.exit_code, 0) << Describe(created);

  RunResult first = Cli({"coupon", "request", code, "--user", "alice"});
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  const std::string first_id = ValueOf(first.out, "request_id");
  ASSERT_FALSE(first_id.empty()) << first.out;
  RunResult first_got = Cli({"coupon", "get", first_id, "--wait", "15000"});
  ASSERT_EQ(first_got.exit_code, 0) << Describe(first_got);
  EXPECT_EQ(ValueOf(first_got.out, "status"), "ISSUED") << first_got.out;

  RunResult second = Cli({"coupon", "request", code, "--user", "bob"});
  ASSERT_EQ(second.exit_code, 0) << Describe(second);
  RunResult second_got =
      Cli({"coupon", "get", ValueOf(second.out, "request_id"), "--wait", "15000"});
  ASSERT_EQ(second_got.exit_code, 0) << Describe(second_got);
  EXPECT_EQ(ValueOf(second_got.out, "status"), "REJECTED") << second_got.out;
  EXPECT_EQ(ValueOf(second_got.out, "reason"), "SOLD_OUT") << second_got.out;

  RunResult campaign = Cli({"coupon", "campaign", code});
  ASSERT_EQ(campaign.exit_code, 0) << Describe(campaign);
  EXPECT_EQ(ValueOf(campaign.out, "issued"), "1") << campaign.out;
  EXPECT_EQ(ValueOf(campaign.out, "remaining"), "0") << campaign.out;
}

TEST(CliTest, EventsReadAndStreamShowTheLog) {
  const std::string order_id = PlaceConfirmableOrder(Unique("sku"), 1);
  ASSERT_FALSE(order_id.empty());

  RunResult all = Cli({"events", "read", "--from", "1", "--max", "1000"});
  ASSERT_EQ(all.exit_code, 0) << Describe(all);
  EXPECT_TRUE(absl::StrContains(all.out, "OrderPlaced")) << all.out;
  EXPECT_FALSE(ValueOf(all.out, "head_position").empty()) << all.out;

  RunResult json = Cli({"--json", "events", "read", "--max", "1000"});
  ASSERT_EQ(json.exit_code, 0) << Describe(json);
  surge::v1::ReadAllResponse page;
  ASSERT_TRUE(JsonStringToMessage(json.out, &page).ok()) << json.out;
  EXPECT_GT(page.events_size(), 0);
  EXPECT_EQ(page.events(0).position(), 1u);

  RunResult stream = Cli({"events", "stream", "order-" + order_id});
  ASSERT_EQ(stream.exit_code, 0) << Describe(stream);
  EXPECT_TRUE(absl::StrContains(stream.out, "order-" + order_id + "@0  OrderPlaced")) << stream.out;
  EXPECT_NE(ValueOf(stream.out, "current_version"), "-1") << stream.out;
}

// `events tail --from 1` plus `extra`, started after a fresh SKU was
// restocked (so the restock is in the catch-up part of the log).
struct Tail {
  std::string sku;
  std::unique_ptr<ChildProcess> process;
};
Tail StartTail(const std::vector<std::string>& extra) {
  Tail tail{.sku = Unique("sku")};
  EXPECT_EQ(AdminCli({"stock", "adjust", tail.sku, "10"}).exit_code, 0);
  std::vector<std::string> argv = {SURGE_CLI_BIN, "--addr", LiveServer::Get().addr(), "events",
                                   "tail", "--from", "1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  tail.process = ChildProcess::Start(argv);
  return tail;
}

// Places one order of the tail's SKU and waits until the tail printed it
// (live: without restarting the tail); then ends the tail with SIGTERM, a
// normal end (exit 0).
void PlaceSeeAndStop(Tail& tail) {
  RunResult placed = Cli({"order", "place", "--user", "tail-user", "--line", tail.sku + ":1"});
  ASSERT_EQ(placed.exit_code, 0) << Describe(placed);
  const std::string order_id = ValueOf(placed.out, "order_id");
  ASSERT_TRUE(tail.process->WaitForStdout("order-" + order_id, absl::Seconds(15)))
      << tail.process->out() << tail.process->err();
  tail.process->Signal(SIGTERM);
  EXPECT_EQ(tail.process->Wait(absl::Seconds(10)), 0) << tail.process->err();
  EXPECT_EQ(tail.process->err(), "");
}

TEST(CliTest, EventsTailPrintsLiveEventsAndExitsZeroOnSigterm) {
  Tail tail = StartTail({});
  // Catch-up first: the restock is already in the log.
  ASSERT_TRUE(tail.process->WaitForStdout(tail.sku, absl::Seconds(15)))
      << tail.process->out() << tail.process->err();
  PlaceSeeAndStop(tail);
}

TEST(CliTest, EventsTailWithTypesPrintsOnlyThoseAndRefusesUnknownOnes) {
  Tail tail = StartTail({"--type", "order_confirmed, order_cancelled"});
  PlaceSeeAndStop(tail);
  const std::string out = tail.process->out();
  EXPECT_TRUE(absl::StrContains(out, "OrderConfirmed")) << out;
  // Neither the restock nor any order's other events.
  EXPECT_FALSE(absl::StrContains(out, "OrderPlaced")) << out;
  EXPECT_FALSE(absl::StrContains(out, "StockDecreased")) << out;
  EXPECT_FALSE(absl::StrContains(out, "StockAdjusted")) << out;

  RunResult bad = Cli({"events", "tail", "--type", "order_shipped"});
  EXPECT_EQ(bad.exit_code, 1) << Describe(bad);
  EXPECT_TRUE(absl::StrContains(bad.err, "INVALID_ARGUMENT")) << Describe(bad);
  EXPECT_TRUE(absl::StrContains(bad.err, "order_shipped")) << Describe(bad);
}

TEST(CliTest, LoadOrdersShowsProgressAndSummary) {
  const std::string sku = Unique("sku");
  ASSERT_EQ(AdminCli({"stock", "adjust", sku, "1000"}).exit_code, 0);
  RunResult load = Cli({"load", "orders", "--count", "200", "--concurrency", "4", "--sku", sku});
  ASSERT_EQ(load.exit_code, 0) << Describe(load);
  EXPECT_TRUE(absl::StrContains(load.err, "200/200 100%")) << load.err;
  EXPECT_TRUE(absl::StrContains(load.err, "/s ETA")) << load.err;
  EXPECT_EQ(ValueOf(load.out, "requests"), "200") << load.out;
  EXPECT_EQ(ValueOf(load.out, "succeeded"), "200") << load.out;
  EXPECT_EQ(ValueOf(load.out, "failed"), "0") << load.out;
  EXPECT_FALSE(ValueOf(load.out, "latency_p99").empty()) << load.out;
}

TEST(CliTest, LoadStopsOnSigintAndStillPrintsTheSummary) {
  auto load =
      ChildProcess::Start({SURGE_CLI_BIN, "--addr", LiveServer::Get().addr(), "load", "orders",
                           "--count", "1000000", "--concurrency", "2", "--sku", Unique("sku")});
  // The bar is drawn every 200 ms; once it shows, requests are flowing.
  ASSERT_TRUE(load->WaitForStderr("/1000000", absl::Seconds(15))) << load->err();
  load->Signal(SIGINT);
  EXPECT_EQ(load->Wait(absl::Seconds(15)), 0) << load->err();
  const std::string out = load->out();
  EXPECT_EQ(ValueOf(out, "interrupted"), "true") << out;
  EXPECT_LT(std::stoll(ValueOf(out, "requests")), 1000000) << out;
  EXPECT_EQ(ValueOf(out, "failed"), "0") << out;
}

TEST(CliTest, LoadCouponsNeverIssuesMoreThanTheQuantity) {
  const std::string code = Unique("code");
  ASSERT_EQ(AdminCli({"coupon", "create", code, "--quantity", "10"}).exit_code, 0);
  RunResult load = Cli({"load", "coupons", "--count", "50", "--code", code, "--json"});
  ASSERT_EQ(load.exit_code, 0) << Describe(load);
  EXPECT_TRUE(absl::StrContains(load.err, "50/50")) << load.err;
  EXPECT_TRUE(absl::StrContains(load.out, "\"succeeded\":\"50\"")) << load.out;

  RunResult campaign = Cli({"coupon", "campaign", code});
  ASSERT_EQ(campaign.exit_code, 0) << Describe(campaign);
  EXPECT_LE(std::stoi(ValueOf(campaign.out, "issued")), 10) << campaign.out;
}

TEST(CliTest, DeadLetterCommandsAreAdminOnly) {
  RunResult no_token = Cli({"dlt", "list"});
  EXPECT_EQ(no_token.exit_code, 1) << Describe(no_token);
  RunResult list = AdminCli({"dlt", "list", "--topic", "surge.coupons", "--limit", "10"});
  ASSERT_EQ(list.exit_code, 0) << Describe(list);
  EXPECT_EQ(ValueOf(list.out, "entries"), "0") << list.out;
  RunResult replay = AdminCli({"dlt", "replay", "surge.coupons.dlt/0/999999"});
  EXPECT_EQ(replay.exit_code, 1) << Describe(replay);
  EXPECT_TRUE(absl::StartsWith(replay.err, "error: NOT_FOUND: ")) << replay.err;
}

TEST(CliTest, HealthReportsServing) {
  RunResult r = Cli({"health"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ValueOf(r.out, "status"), "SERVING") << r.out;
  RunResult json = Cli({"health", "--json"});
  EXPECT_EQ(json.out, "{\"status\":\"SERVING\"}\n") << Describe(json);
}

TEST(CliTest, UnreachableServerIsAnRpcError) {
  RunResult r = RunProcess({SURGE_CLI_BIN, "--addr", "127.0.0.1:1", "--timeout", "2s", "health"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: UNAVAILABLE: ")) << r.err;
}

}  // namespace
}  // namespace surge::testing
