#include "server/status_mapping.h"

#include "gtest/gtest.h"

namespace surge::server {
namespace {

TEST(StatusMappingTest, KeepsTheCanonicalCodeAndTheMessage) {
  const struct {
    absl::Status in;
    grpc::StatusCode out;
  } cases[] = {
      {absl::InvalidArgumentError("lines[0].quantity: bad"), grpc::StatusCode::INVALID_ARGUMENT},
      {absl::NotFoundError("order o-1 not found"), grpc::StatusCode::NOT_FOUND},
      {absl::AlreadyExistsError("campaign X already exists"), grpc::StatusCode::ALREADY_EXISTS},
      {absl::AbortedError("conflict"), grpc::StatusCode::ABORTED},
      {absl::ResourceExhaustedError("queue full"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::UnavailableError("closing"), grpc::StatusCode::UNAVAILABLE},
      {absl::FailedPreconditionError("reused"), grpc::StatusCode::FAILED_PRECONDITION},
      {absl::UnauthenticatedError("token"), grpc::StatusCode::UNAUTHENTICATED},
      {absl::DataLossError("corrupt"), grpc::StatusCode::DATA_LOSS},
      {absl::InternalError("bug"), grpc::StatusCode::INTERNAL},
  };
  for (const auto& c : cases) {
    const grpc::Status mapped = ToGrpcStatus(c.in);
    EXPECT_EQ(mapped.error_code(), c.out) << c.in;
    EXPECT_EQ(mapped.error_message(), c.in.message());
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace surge::server
