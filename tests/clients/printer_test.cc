#include "clients/cli/printer.h"

#include <sstream>

#include "clients/cli/progress.h"
#include "gtest/gtest.h"
#include "surge/v1/surge.pb.h"

namespace surge::cli {
namespace {

surge::v1::Order SampleOrder() {
  surge::v1::Order order;
  order.set_order_id("o-1");
  order.set_user_id("u-1");
  auto* line = order.add_lines();
  line->set_sku("book");
  line->set_quantity(2);
  order.set_status(surge::v1::ORDER_STATUS_CONFIRMED);
  order.set_updated_position(0);
  return order;
}

TEST(PrinterTest, StripsEnumTypePrefix) {
  const auto* d = surge::v1::OrderStatus_descriptor()->FindValueByNumber(2);
  EXPECT_EQ(EnumShortName(d), "CONFIRMED");
  const auto* r = surge::v1::CouponRejectReason_descriptor()->FindValueByNumber(1);
  EXPECT_EQ(EnumShortName(r), "SOLD_OUT");
}

TEST(PrinterTest, HumanOutputIsAlignedAndSkipsEmptyFields) {
  std::ostringstream out, err;
  Printer printer(/*json=*/false, out, err);
  printer.PrintMessage(SampleOrder(), {{"request_id", "r-1"}});
  EXPECT_EQ(out.str(),
            "request_id:        r-1\n"
            "order_id:          o-1\n"
            "user_id:           u-1\n"
            "lines[0].sku:      book\n"
            "lines[0].quantity: 2\n"
            "status:            CONFIRMED\n"
            "updated_position:  0\n");
  EXPECT_EQ(err.str(), "");
}

TEST(PrinterTest, JsonOutputIsOneLineWithExtrasOnStderr) {
  std::ostringstream out, err;
  Printer printer(/*json=*/true, out, err);
  printer.PrintMessage(SampleOrder(), {{"request_id", "r-1"}});
  EXPECT_EQ(out.str(),
            "{\"order_id\":\"o-1\",\"user_id\":\"u-1\",\"lines\":[{\"sku\":\"book\","
            "\"quantity\":\"2\"}],\"status\":\"ORDER_STATUS_CONFIRMED\",\"reason\":\"\","
            "\"updated_position\":\"0\"}\n");
  EXPECT_EQ(err.str(), "request_id: r-1\n");
}

TEST(PrinterTest, EventLineNamesTypeStreamAndPayload) {
  surge::v1::Event event;
  event.set_position(42);
  event.set_stream_id("order-o-1");
  event.set_stream_version(1);
  event.mutable_order_confirmed()->set_order_id("o-1");
  event.mutable_recorded_at()->set_seconds(0);
  EXPECT_EQ(FormatEventLine(event),
            "      42  1970-01-01T00:00:00.000Z  order-o-1@1  OrderConfirmed  order_id: \"o-1\"");
}

TEST(ProgressTest, RendersCountsPercentRateAndEta) {
  EXPECT_EQ(RenderProgress(50, 100, absl::Seconds(5)),
            "[##########..........] 50/100  50% 10.0/s ETA 0:00:05");
  EXPECT_EQ(RenderProgress(0, 10, absl::ZeroDuration()),
            "[....................] 0/10   0% 0.0/s ETA --:--:--");
}

}  // namespace
}  // namespace surge::cli
