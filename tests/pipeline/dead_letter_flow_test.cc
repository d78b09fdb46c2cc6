// A poison message produced straight into surge.coupons on the server's
// embedded broker: it lands in surge.coupons.dlt (headers + base64 envelope)
// and in the DeadLetterService, and the messages around it are processed.
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tests/pipeline/kafka_test_client.h"
#include "tests/pipeline/pipeline_test_util.h"

namespace surge::testing {
namespace {

std::string JsonField(const std::string& json, const std::string& field) {
  const std::string marker = absl::StrCat("\"", field, "\":\"");
  size_t at = json.find(marker);
  if (at == std::string::npos) return "<missing>";
  at += marker.size();
  return json.substr(at, json.find('"', at) - at);
}

TEST(DeadLetterFlowTest, PoisonMessageIsDeadLetteredAndNeighboursAreProcessed) {
  auto started = ServerProcess::Start({});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  PipelineClient client(*server);
  client.CreateCampaign("POISON", 10);
  ASSERT_TRUE(client.RequestCoupon("before", "u1", "POISON").ok());
  auto before = client.SettledCouponRequest("before");
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->status(), v1::COUPON_REQUEST_STATUS_ISSUED);

  auto bootstrap = ReadBootstrapFile(server->data_dir());
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  // Not a protobuf Event: NULs, high bytes, a wrong wire type.
  const std::string poison("\x00\xff\x07garbage\x00\x01\x80\x80\x80", 15);
  ASSERT_TRUE(ProduceOne(*bootstrap, "surge.coupons", "POISON", poison).ok());

  ASSERT_TRUE(client.RequestCoupon("after", "u2", "POISON").ok());
  auto after = client.SettledCouponRequest("after");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status(), v1::COUPON_REQUEST_STATUS_ISSUED) << server->LogTail();

  // The DLT topic holds it with the documented headers and envelope.
  auto dlt = ConsumeFromBeginning(*bootstrap, "surge.coupons.dlt", 1);
  ASSERT_EQ(dlt.size(), 1u) << server->LogTail();
  ConsumedMessage m = dlt[0];
  EXPECT_EQ(m.headers["surge-dlt-original-topic"], "surge.coupons");
  EXPECT_EQ(m.headers["surge-dlt-original-key"], "POISON");
  EXPECT_FALSE(m.headers["surge-dlt-original-partition"].empty());
  EXPECT_FALSE(m.headers["surge-dlt-original-offset"].empty());
  EXPECT_FALSE(m.headers["surge-dlt-error"].empty());
  EXPECT_FALSE(m.headers["surge-dlt-attempts"].empty());
  EXPECT_FALSE(m.headers["surge-dlt-first-failure-unix-ms"].empty());
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape(JsonField(m.value, "value_b64"), &decoded)) << m.value;
  EXPECT_EQ(decoded, poison);

  // And the admin API lists it with the exact bytes.
  v1::ListDeadLettersRequest list;
  list.set_topic("surge.coupons");
  v1::ListDeadLettersResponse listed;
  grpc::Status status = server->DeadLetters()->ListDeadLetters(Deadline().get(), list, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(listed.entries_size(), 1);
  EXPECT_EQ(listed.entries(0).value(), poison);
  EXPECT_EQ(listed.entries(0).key(), "POISON");
  EXPECT_FALSE(listed.entries(0).replayed());

  // Replaying bytes that still cannot be decoded fails cleanly and changes
  // nothing; the entry stays for later.
  const uint64_t head = *server->HeadPosition();
  v1::ReplayDeadLetterRequest replay;
  replay.set_id(listed.entries(0).id());
  v1::ReplayDeadLetterResponse replayed;
  status = server->DeadLetters()->ReplayDeadLetter(Deadline().get(), replay, &replayed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(*server->HeadPosition(), head);

  replay.set_id("surge.coupons.dlt/0/999999");
  status = server->DeadLetters()->ReplayDeadLetter(Deadline().get(), replay, &replayed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  // The dead letter survives a restart (recorded in the store).
  ASSERT_TRUE(server->Restart().ok());
  status = server->DeadLetters()->ListDeadLetters(Deadline().get(), list, &listed);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(listed.entries_size(), 1);
}

}  // namespace
}  // namespace surge::testing
