#include "domain/commands.h"

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "domain/order_id.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/domain/test_store.h"
#include "tests/support/temp_dir.h"

namespace surge::domain {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

v1::OrderLine Line(std::string sku, int64_t quantity) {
  v1::OrderLine line;
  line.set_sku(std::move(sku));
  line.set_quantity(quantity);
  return line;
}

class CommandHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenTestStore(dir_);
    ASSERT_NE(store_, nullptr);
    commands_ = std::make_unique<CommandHandler>(*store_);
  }

  PlaceOrderCommand Order(std::string request_id) {
    return PlaceOrderCommand{.request_id = std::move(request_id),
                             .user_id = "user-1",
                             .lines = {Line("sku-a", 2), Line("sku-b", 1), Line("sku-c", 7)}};
  }

  testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<CommandHandler> commands_;
};

TEST_F(CommandHandlerTest, PlaceOrderAppendsOrderPlacedAndOneDecreasePerLineInOneBatch) {
  auto placed = commands_->PlaceOrder(Order("r-1"));
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_FALSE(placed->duplicate);
  // Derived from the request_id: every node gives a retry the same order.
  EXPECT_THAT(placed->order_id, MatchesRegex("o-[0-9a-f]{32}"));
  EXPECT_EQ(placed->order_id, OrderIdFor("r-1"));
  EXPECT_NE(OrderIdFor("r-1"), OrderIdFor("r-2"));

  const std::vector<v1::Event> events = AllEvents(*store_);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(placed->position, events[0].position());
  ASSERT_TRUE(events[0].has_order_placed());
  EXPECT_EQ(events[0].order_placed().order_id(), placed->order_id);
  EXPECT_EQ(events[0].order_placed().user_id(), "user-1");
  EXPECT_EQ(events[0].order_placed().lines_size(), 3);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(events[i].stream_id(), "order-" + placed->order_id);
    EXPECT_EQ(events[i].stream_version(), i);
    EXPECT_EQ(events[i].request_id(), "r-1");
    EXPECT_EQ(events[i].correlation_id(), placed->order_id);
    // Contiguous positions: the four were committed together.
    EXPECT_EQ(events[i].position(), events[0].position() + i);
  }
  const std::vector<std::pair<std::string, int64_t>> lines = {
      {"sku-a", 2}, {"sku-b", 1}, {"sku-c", 7}};
  for (int i = 0; i < 3; ++i) {
    const v1::Event& e = events[i + 1];
    ASSERT_TRUE(e.has_stock_decrease_requested());
    EXPECT_EQ(e.stock_decrease_requested().order_id(), placed->order_id);
    EXPECT_EQ(e.stock_decrease_requested().sku(), lines[i].first);
    EXPECT_EQ(e.stock_decrease_requested().quantity(), lines[i].second);
    EXPECT_EQ(e.stock_decrease_requested().line_index(), i);
  }
}

TEST_F(CommandHandlerTest, RepeatedPlaceOrderAnswersTheSameOrderAndAppendsNothing) {
  auto first = commands_->PlaceOrder(Order("r-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  const uint64_t head = store_->HeadPosition();
  auto again = commands_->PlaceOrder(Order("r-1"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->order_id, first->order_id);
  EXPECT_EQ(again->position, first->position);
  EXPECT_EQ(store_->HeadPosition(), head);
}

TEST_F(CommandHandlerTest, DistinctRequestsGetDistinctOrders) {
  auto a = commands_->PlaceOrder(Order("r-1"));
  auto b = commands_->PlaceOrder(Order("r-2"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->order_id, b->order_id);
}

TEST_F(CommandHandlerTest, ReusingARequestIdForAnotherCommandIsRefused) {
  ASSERT_TRUE(commands_->PlaceOrder(Order("r-1")).ok());
  const uint64_t head = store_->HeadPosition();
  PlaceOrderCommand other = Order("r-1");
  other.lines[0].set_quantity(3);
  auto result = commands_->PlaceOrder(other);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("request_id 'r-1'"));
  EXPECT_EQ(store_->HeadPosition(), head);
}

TEST_F(CommandHandlerTest, InvalidInputWritesNothing) {
  PlaceOrderCommand bad = Order("r-1");
  bad.lines[1].set_quantity(0);
  auto placed = commands_->PlaceOrder(bad);
  EXPECT_EQ(placed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(placed.status().message()), HasSubstr("lines[1].quantity"));
  EXPECT_EQ(commands_->AdjustStock({.request_id = "r", .sku = "s", .delta = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(commands_->CreateCampaign({.request_id = "r", .code = "c", .total_quantity = 0})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->HeadPosition(), 0u);
}

TEST_F(CommandHandlerTest, AsyncCallbackIsCalledOnceWithTheResult) {
  absl::Notification done;
  absl::StatusOr<PlaceOrderResult> result;
  int calls = 0;
  commands_->PlaceOrderAsync(Order("r-async"), [&](absl::StatusOr<PlaceOrderResult> r) {
    result = std::move(r);
    ++calls;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(calls, 1);
}

TEST_F(CommandHandlerTest, AdjustStockAppendsStockAdjustedOnTheSkuStream) {
  auto adjusted = commands_->AdjustStock({.request_id = "s-1", .sku = "sku-a", .delta = -4});
  ASSERT_TRUE(adjusted.ok()) << adjusted.status();
  EXPECT_FALSE(adjusted->duplicate);
  const auto events = AllEvents(*store_);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stream_id(), "stock-sku-a");
  EXPECT_EQ(events[0].stock_adjusted().sku(), "sku-a");
  EXPECT_EQ(events[0].stock_adjusted().delta(), -4);
  EXPECT_EQ(adjusted->position, events[0].position());
  auto again = commands_->AdjustStock({.request_id = "s-1", .sku = "sku-a", .delta = -4});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(store_->HeadPosition(), events[0].position());
}

TEST_F(CommandHandlerTest, CreateCampaignTwiceIsAlreadyExistsButARepeatIsADuplicate) {
  auto created = commands_->CreateCampaign(
      {.request_id = "c-1", .code = "SALE", .total_quantity = 10, .per_user_limit = 0});
  ASSERT_TRUE(created.ok()) << created.status();
  const auto events = AllEvents(*store_);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stream_id(), "campaign-SALE");
  EXPECT_EQ(events[0].campaign_created().total_quantity(), 10);
  EXPECT_EQ(events[0].campaign_created().per_user_limit(), 1);  // 0 means 1

  auto repeat = commands_->CreateCampaign(
      {.request_id = "c-1", .code = "SALE", .total_quantity = 10, .per_user_limit = 0});
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_TRUE(repeat->duplicate);
  EXPECT_EQ(repeat->position, created->position);

  auto clash = commands_->CreateCampaign(
      {.request_id = "c-2", .code = "SALE", .total_quantity = 5, .per_user_limit = 2});
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(clash.status().message()), HasSubstr("campaign SALE already exists"));
  EXPECT_EQ(store_->HeadPosition(), created->position);
}

TEST_F(CommandHandlerTest, ACampaignTheLogTookIsAnsweredThroughTheConfirmationHook) {
  std::vector<std::pair<CreateCampaignCommand, WriteResult>> asked;
  CommandHandler::Options options;
  options.confirm_campaign = [&](const CreateCampaignCommand& command, const WriteResult& accepted,
                                 std::function<void(absl::StatusOr<WriteResult>)> done) {
    asked.emplace_back(command, accepted);
    if (command.total_quantity == 5) return done(absl::AlreadyExistsError("another won"));
    done(accepted);
  };
  CommandHandler confirmed(*store_, options);
  auto created = confirmed.CreateCampaign(
      {.request_id = "c-1", .code = "SALE", .total_quantity = 10, .per_user_limit = 0});
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].first.code, "SALE");
  EXPECT_EQ(asked[0].first.per_user_limit, 1);  // defaulted before the hook sees it
  EXPECT_EQ(asked[0].second.position, created->position);
  EXPECT_FALSE(asked[0].second.duplicate);

  // A repeat is confirmed too (it may be asked again after a timeout).
  auto repeat = confirmed.CreateCampaign(
      {.request_id = "c-1", .code = "SALE", .total_quantity = 10, .per_user_limit = 0});
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_TRUE(asked[1].second.duplicate);

  // The hook's answer is the caller's; what the log refused never reaches it.
  auto lost = confirmed.CreateCampaign(
      {.request_id = "c-2", .code = "OTHER", .total_quantity = 5, .per_user_limit = 1});
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kAlreadyExists);
  auto clash = confirmed.CreateCampaign(
      {.request_id = "c-3", .code = "SALE", .total_quantity = 10, .per_user_limit = 1});
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(asked.size(), 3u);
}

TEST_F(CommandHandlerTest, RequestCouponNeedsAnExistingCampaignAndDeduplicates) {
  auto unknown = commands_->RequestCoupon({.request_id = "q-1", .user_id = "u", .code = "NOPE"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->HeadPosition(), 0u);

  ASSERT_TRUE(
      commands_->CreateCampaign({.request_id = "c", .code = "SALE", .total_quantity = 1}).ok());
  auto requested = commands_->RequestCoupon({.request_id = "q-1", .user_id = "u", .code = "SALE"});
  ASSERT_TRUE(requested.ok()) << requested.status();
  EXPECT_FALSE(requested->duplicate);
  auto repeat = commands_->RequestCoupon({.request_id = "q-1", .user_id = "u", .code = "SALE"});
  ASSERT_TRUE(repeat.ok());
  EXPECT_TRUE(repeat->duplicate);
  EXPECT_EQ(repeat->position, requested->position);

  const auto events = AllEvents(*store_);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].stream_id(), "coupon-SALE");
  EXPECT_EQ(events[1].coupon_requested().request_id(), "q-1");
  EXPECT_EQ(events[1].coupon_requested().user_id(), "u");
  EXPECT_EQ(events[1].coupon_requested().code(), "SALE");
}

TEST_F(CommandHandlerTest, CancelUnknownOrderIsNotFound) {
  auto cancelled = commands_->CancelOrder({.request_id = "x-1", .order_id = "o-missing"});
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->HeadPosition(), 0u);
}

TEST_F(CommandHandlerTest, CancelOrderAppendsACancellationRequestAtTheNextVersion) {
  auto placed = commands_->PlaceOrder(Order("r-1"));
  ASSERT_TRUE(placed.ok());
  auto cancelled = commands_->CancelOrder({.request_id = "x-1", .order_id = placed->order_id});
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_FALSE(cancelled->already_cancelled);
  const auto events = AllEvents(*store_);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_TRUE(events[4].has_order_cancellation_requested());
  EXPECT_EQ(events[4].stream_version(), 4);
  EXPECT_EQ(events[4].order_cancellation_requested().order_id(), placed->order_id);
  EXPECT_EQ(cancelled->position, events[4].position());

  auto repeat = commands_->CancelOrder({.request_id = "x-1", .order_id = placed->order_id});
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_TRUE(repeat->duplicate);
  EXPECT_EQ(store_->HeadPosition(), events[4].position());
}

TEST_F(CommandHandlerTest, CancellingACancelledOrderAppendsNothing) {
  auto placed = commands_->PlaceOrder(Order("r-1"));
  ASSERT_TRUE(placed.ok());
  // What the saga would have appended.
  eventstore::AppendRequest saga;
  v1::Event cancelled_event;
  cancelled_event.set_stream_id("order-" + placed->order_id);
  cancelled_event.mutable_order_cancelled()->set_order_id(placed->order_id);
  saga.events.push_back(cancelled_event);
  ASSERT_TRUE(store_->Append(std::move(saga)).ok());
  const uint64_t head = store_->HeadPosition();

  auto cancelled = commands_->CancelOrder({.request_id = "x-1", .order_id = placed->order_id});
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_TRUE(cancelled->already_cancelled);
  EXPECT_EQ(cancelled->position, 0u);
  EXPECT_EQ(store_->HeadPosition(), head);
}

}  // namespace
}  // namespace surge::domain

namespace surge::domain {
namespace {

TEST(CommandAdmissionTest, RefusedCommandsWriteNothingAndOthersPass) {
  testing::TempDir dir;
  std::unique_ptr<eventstore::EventStore> store = OpenTestStore(dir);
  ASSERT_NE(store, nullptr);
  bool open = false;
  CommandHandler::Options options;
  options.admit = [&open] {
    return open ? absl::OkStatus() : absl::ResourceExhaustedError("decision backlog: 12 events");
  };
  CommandHandler commands(*store, options);
  // Admin commands are never refused (a campaign must exist for coupons).
  ASSERT_TRUE(commands
                  .CreateCampaign(
                      CreateCampaignCommand{.request_id = "c1", .code = "C", .total_quantity = 5})
                  .ok());
  const uint64_t head = store->HeadPosition();
  auto order = commands.PlaceOrder(
      PlaceOrderCommand{.request_id = "r1", .user_id = "u", .lines = {Line("sku", 1)}});
  EXPECT_EQ(order.status().code(), absl::StatusCode::kResourceExhausted);
  auto coupon =
      commands.RequestCoupon(RequestCouponCommand{.request_id = "q1", .user_id = "u", .code = "C"});
  EXPECT_EQ(coupon.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(store->HeadPosition(), head);
  // Invalid input is still INVALID_ARGUMENT, whatever the backlog.
  EXPECT_EQ(
      commands.PlaceOrder(PlaceOrderCommand{.request_id = "r2", .user_id = "u"}).status().code(),
      absl::StatusCode::kInvalidArgument);
  open = true;
  EXPECT_TRUE(commands
                  .PlaceOrder(PlaceOrderCommand{
                      .request_id = "r1", .user_id = "u", .lines = {Line("sku", 1)}})
                  .ok());
}

}  // namespace
}  // namespace surge::domain
