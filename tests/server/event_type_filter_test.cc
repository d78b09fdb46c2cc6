#include "server/internal/event_type_filter.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace surge::server::internal {
namespace {

using ::testing::HasSubstr;

v1::Event Confirmed() {
  v1::Event event;
  event.mutable_order_confirmed()->set_order_id("o-1");
  return event;
}

v1::Event Placed() {
  v1::Event event;
  event.mutable_order_placed()->set_order_id("o-1");
  return event;
}

TEST(EventTypeFilterTest, EmptyListAndDefaultLetEveryEventPass) {
  absl::StatusOr<EventTypeFilter> filter = EventTypeFilter::Parse({});
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_TRUE(filter->all());
  EXPECT_TRUE(filter->Matches(Placed()));
  EXPECT_TRUE(filter->Matches(v1::Event()));  // even one without a payload
  EXPECT_TRUE(EventTypeFilter().Matches(Confirmed()));
}

TEST(EventTypeFilterTest, NamedTypesPassAndOthersDoNot) {
  const std::vector<std::string> names = {"order_confirmed", "coupon_issued", "order_confirmed"};
  absl::StatusOr<EventTypeFilter> filter = EventTypeFilter::Parse(names);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_FALSE(filter->all());
  EXPECT_TRUE(filter->Matches(Confirmed()));
  v1::Event issued;
  issued.mutable_coupon_issued()->set_request_id("r");
  EXPECT_TRUE(filter->Matches(issued));
  EXPECT_FALSE(filter->Matches(Placed()));
  EXPECT_FALSE(filter->Matches(v1::Event()));
}

TEST(EventTypeFilterTest, UnknownOrNonPayloadNamesAreInvalidArgument) {
  // "stream_id" is a field of Event, but not an event type.
  for (const std::string bad : {"order_shipped", "stream_id", "", "OrderConfirmed"}) {
    SCOPED_TRACE(bad);
    const std::vector<std::string> names = {"order_confirmed", bad};
    absl::StatusOr<EventTypeFilter> filter = EventTypeFilter::Parse(names);
    ASSERT_FALSE(filter.ok());
    EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(filter.status().message(), HasSubstr("'" + bad + "'"));
    EXPECT_THAT(filter.status().message(), HasSubstr("order_cancelled"));
  }
}

}  // namespace
}  // namespace surge::server::internal
