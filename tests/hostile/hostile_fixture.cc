#include "tests/hostile/hostile_fixture.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_code_name.h"

namespace surge::testing {

std::vector<Named<std::string>> BadIds() {
  return {
      {"empty", ""},
      {"129 bytes", std::string(129, 'a')},
      {"1 MiB", std::string(1 << 20, 'a')},
      {"NUL inside", std::string("ab\0cd", 5)},
      {"space", "a b"},
      {"slash", "a/b"},
      {"newline", "a\nb"},
      {"DEL", "a\x7f"},
      {"unicode", "caf\xc3\xa9"},
      {"emoji", "\xf0\x9f\x94\xa5sale"},
      {"percent-encoded", "a%2Fb"},
      {"shell", "$(reboot)"},
  };
}

std::vector<Named<std::string>> BadRequestIds() {
  return {
      {"empty", ""},
      {"129 bytes", std::string(129, 'r')},
      {"1 MiB", std::string(1 << 20, 'r')},
      {"NUL inside", std::string("r\0x", 3)},
      {"NUL only", std::string(1, '\0')},
      {"newline", "r\n"},
      {"escape", "r\x1b[2J"},
      {"DEL", "r\x7f"},
  };
}

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(GrpcCodeName(static_cast<int>(status.error_code())), ": ",
                      status.error_message().substr(0, 200));
}

grpc::Status RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                          const std::string& payload, absl::Duration timeout) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::ClientContext> context = Ctx(timeout);
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(context.get(), method, request, &cq);
  call->StartCall();
  int tag = 1;
  call->Finish(&response, &status, &tag);
  void* got = nullptr;
  bool ok = false;
  if (!cq.Next(&got, &ok) || got != &tag) {
    status = grpc::Status(grpc::StatusCode::UNKNOWN, "completion queue returned no result");
  }
  cq.Shutdown();
  while (cq.Next(&got, &ok)) {
  }
  return status;
}

std::vector<std::string> UnaryMethods() {
  return {
      "/surge.v1.OrderService/PlaceOrder",
      "/surge.v1.OrderService/GetOrder",
      "/surge.v1.OrderService/CancelOrder",
      "/surge.v1.InventoryService/AdjustStock",
      "/surge.v1.InventoryService/GetStock",
      "/surge.v1.CouponService/CreateCampaign",
      "/surge.v1.CouponService/RequestCoupon",
      "/surge.v1.CouponService/GetCampaign",
      "/surge.v1.CouponService/GetCouponRequest",
      "/surge.v1.EventStoreService/ReadAll",
      "/surge.v1.EventStoreService/ReadStream",
      "/surge.v1.DeadLetterService/ListDeadLetters",
      "/surge.v1.DeadLetterService/ReplayDeadLetter",
  };
}

void HostileInputTest::SetUp() {
  auto server = ServerProcess::Start({});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
}

uint64_t HostileInputTest::Head() {
  absl::StatusOr<uint64_t> head = server_->HeadPosition();
  EXPECT_TRUE(head.ok()) << head.status();
  return head.ok() ? *head : 0;
}

void HostileInputTest::ExpectServerStillServes() {
  ASSERT_TRUE(server_->IsServing()) << server_->LogTail();
  const uint64_t before = Head();
  v1::AdjustStockRequest request;
  request.set_request_id("still-serving");
  request.set_sku("SKU-OK");
  request.set_delta(1);
  v1::AdjustStockResponse response;
  const grpc::Status status = server_->Inventory()->AdjustStock(Ctx().get(), request, &response);
  ASSERT_TRUE(status.ok()) << Describe(status) << "\n" << server_->LogTail();
  EXPECT_GT(Head(), before) << "a valid write did not move the head";
}

}  // namespace surge::testing
