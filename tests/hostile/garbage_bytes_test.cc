// Bytes no generated stub would send, through grpc::GenericStub: truncated
// and malformed protobuf, invalid UTF-8 in string fields, messages beyond the
// server's maximum size, unknown methods and unknown fields. Each is refused
// with a clear status (or, for unknown fields, ignored as proto3 says), the
// log head does not move, and the server keeps serving.
#include <grpcpp/client_context.h>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/hostile/hostile_fixture.h"

namespace surge::testing {
namespace {

using Code = grpc::StatusCode;

// A protobuf length-delimited field: tag, varint length, bytes.
std::string LengthDelimited(int field, const std::string& bytes) {
  std::string out(1, static_cast<char>((field << 3) | 2));
  uint64_t n = bytes.size();
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    if (n != 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (n != 0);
  return out + bytes;
}

struct Garbage {
  std::string name;
  std::string bytes;
};

std::vector<Garbage> MalformedPayloads() {
  v1::PlaceOrderRequest order;
  order.set_request_id("garbage-order");
  order.set_user_id("user-1");
  order.add_lines()->set_sku("SKU-1");
  const std::string whole = order.SerializeAsString();
  return {
      {"truncated request", whole.substr(0, whole.size() - 3)},
      {"truncated varint", std::string("\x10\xff\xff", 3)},
      {"field number 0", std::string("\x02\x01x", 3)},
      {"length past the end", std::string("\x0a\x7f"
                                          "abc",
                                          5)},
      {"unterminated group", std::string("\x0b", 1)},
      {"stray end-group", std::string("\x0c", 1)},
      {"wire type 7", std::string("\x0f\x00", 2)},
      {"ten 0xff bytes", std::string(10, '\xff')},
  };
}

// How the server refuses a request it cannot decode: INVALID_ARGUMENT naming
// the message type. (gRPC 1.51's callback API itself answers UNIMPLEMENTED
// with an empty message; server/internal/decode_error_interceptor.cc turns
// that into the precise status.)
bool IsUndecodableRefusal(const grpc::Status& status) {
  return status.error_code() == Code::INVALID_ARGUMENT &&
         status.error_message().find("could not be decoded") != std::string::npos;
}

// Every RPC, Subscribe included (its request is sent as one message, which
// is all the server reads before it decodes).
std::vector<std::string> AllMethods() {
  std::vector<std::string> methods = UnaryMethods();
  methods.push_back("/surge.v1.EventStoreService/Subscribe");
  return methods;
}

class GarbageBytesTest : public HostileInputTest {};

TEST_F(GarbageBytesTest, MalformedProtobufIsRefusedOnEveryRpc) {
  const uint64_t head = Head();
  for (const std::string& method : AllMethods()) {
    for (const Garbage& garbage : MalformedPayloads()) {
      const grpc::Status status = RawUnaryCall(server_->channel(), method, garbage.bytes);
      EXPECT_TRUE(IsUndecodableRefusal(status))
          << method << " with " << garbage.name << " answered " << Describe(status);
    }
  }
  EXPECT_EQ(Head(), head);
  ExpectServerStillServes();
}

TEST_F(GarbageBytesTest, InvalidUtf8InAStringFieldIsRefused) {
  const uint64_t head = Head();
  // Field 1 is a string in every request but ReadAll's and Subscribe's (a
  // uint64 there, so these bytes would only be an unknown field).
  const std::string payload = LengthDelimited(1, "ok\xff\xfe\xc3");
  for (const std::string& method : UnaryMethods()) {
    if (absl::EndsWith(method, "/ReadAll")) continue;
    const grpc::Status status = RawUnaryCall(server_->channel(), method, payload);
    EXPECT_TRUE(IsUndecodableRefusal(status)) << method << " answered " << Describe(status);
  }
  EXPECT_EQ(Head(), head);
  ExpectServerStillServes();
}

TEST_F(GarbageBytesTest, MessagesBeyondTheMaximumSizeAreResourceExhausted) {
  const uint64_t head = Head();
  const std::string huge = LengthDelimited(1, std::string(kServerMaxMessageBytes + 1024, 'a'));
  for (const std::string& method : AllMethods()) {
    const grpc::Status status = RawUnaryCall(server_->channel(), method, huge, absl::Seconds(20));
    EXPECT_EQ(status.error_code(), Code::RESOURCE_EXHAUSTED)
        << method << " answered " << Describe(status);
  }
  // The same through a generated stub: a PlaceOrder with a 5 MiB user id.
  v1::PlaceOrderRequest order;
  order.set_request_id("huge-order");
  order.set_user_id(std::string(5 << 20, 'u'));
  order.add_lines()->set_sku("SKU-1");
  order.mutable_lines(0)->set_quantity(1);
  v1::PlaceOrderResponse response;
  const grpc::Status status =
      server_->Orders()->PlaceOrder(Ctx(absl::Seconds(20)).get(), order, &response);
  EXPECT_EQ(status.error_code(), Code::RESOURCE_EXHAUSTED) << Describe(status);
  EXPECT_EQ(Head(), head);
  ExpectServerStillServes();
}

TEST_F(GarbageBytesTest, UnknownMethodsAreUnimplemented) {
  for (const std::string& method :
       {std::string("/surge.v1.OrderService/DropAllOrders"), std::string("/surge.v1.Nope/X"),
        std::string("/../../etc/passwd"), std::string("/") + std::string(4096, 'm')}) {
    const grpc::Status status = RawUnaryCall(server_->channel(), method, "");
    EXPECT_EQ(status.error_code(), Code::UNIMPLEMENTED)
        << method.substr(0, 60) << " answered " << Describe(status);
  }
  ExpectServerStillServes();
}

TEST_F(GarbageBytesTest, UnknownFieldsAreIgnored) {
  // proto3: a field this build does not know is skipped, not an error. The
  // answer must be the one for the same request without it.
  v1::GetStockRequest stock;
  stock.set_sku("SKU-UNKNOWN-FIELDS");
  v1::ReadAllRequest read;
  read.set_max_count(5);
  const std::string unknown = LengthDelimited(99, "from a newer client") +
                              std::string("\xa0\x06\x2a", 3);  // field 100 varint 42
  for (const auto& [method, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"/surge.v1.InventoryService/GetStock", stock.SerializeAsString()},
           {"/surge.v1.EventStoreService/ReadAll", read.SerializeAsString()}}) {
    const grpc::Status plain = RawUnaryCall(server_->channel(), method, bytes);
    const grpc::Status extended = RawUnaryCall(server_->channel(), method, bytes + unknown);
    EXPECT_EQ(extended.error_code(), plain.error_code())
        << method << ": " << Describe(plain) << " vs " << Describe(extended);
    EXPECT_NE(extended.error_code(), Code::INTERNAL) << method;
  }
}

TEST_F(GarbageBytesTest, SubscribeFromTheLastPositionDeliversNothing) {
  // from_position UINT64_MAX must not wrap around to the start of the log.
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  v1::SubscribeRequest request;
  request.set_from_position(std::numeric_limits<uint64_t>::max());
  auto reader = server_->EventStore()->Subscribe(&context, request);
  ExpectServerStillServes();  // appends one event while subscribed
  v1::Event event;
  EXPECT_FALSE(reader->Read(&event)) << "delivered " << event.ShortDebugString();
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.error_code() == Code::DEADLINE_EXCEEDED ||
              status.error_code() == Code::OUT_OF_RANGE ||
              status.error_code() == Code::INVALID_ARGUMENT)
      << Describe(status);
  EXPECT_TRUE(server_->IsServing()) << server_->LogTail();
}

}  // namespace
}  // namespace surge::testing
