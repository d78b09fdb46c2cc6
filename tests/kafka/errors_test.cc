#include "kafka/internal/errors.h"

#include "gtest/gtest.h"

namespace surge::kafka::internal {
namespace {

TEST(ErrorsTest, NoErrorIsOk) {
  EXPECT_TRUE(KafkaStatus(RD_KAFKA_RESP_ERR_NO_ERROR, "produce").ok());
  EXPECT_TRUE(KafkaStatus(static_cast<const rd_kafka_error_t*>(nullptr), "x").ok());
}

TEST(ErrorsTest, MapsCanonicalCodes) {
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR__TRANSPORT), absl::StatusCode::kUnavailable);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR__TIMED_OUT),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC), absl::StatusCode::kNotFound);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR__QUEUE_FULL),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS),
            absl::StatusCode::kAborted);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR__INVALID_ARG),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR__DESTROY), absl::StatusCode::kCancelled);
  EXPECT_EQ(KafkaErrorStatusCode(RD_KAFKA_RESP_ERR__FATAL), absl::StatusCode::kInternal);
}

TEST(ErrorsTest, MessageNamesContextAndErrorAndCarriesCode) {
  absl::Status status = KafkaStatus(RD_KAFKA_RESP_ERR__TRANSPORT, "produce surge.orders");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("produce surge.orders"), absl::string_view::npos);
  EXPECT_NE(status.message().find("_TRANSPORT"), absl::string_view::npos);
  EXPECT_EQ(KafkaErrorCode(status), RD_KAFKA_RESP_ERR__TRANSPORT);
  EXPECT_EQ(KafkaErrorCode(absl::UnavailableError("other")), std::nullopt);
}

TEST(ErrorsTest, ErrorObjectUsesItsCodeAndFatalIsInternal) {
  rd_kafka_error_t* error = rd_kafka_error_new(RD_KAFKA_RESP_ERR__TIMED_OUT, "waited %d ms", 5);
  absl::Status status = KafkaStatus(error, "flush");
  rd_kafka_error_destroy(error);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(status.message().find("waited 5 ms"), absl::string_view::npos);
}

}  // namespace
}  // namespace surge::kafka::internal
