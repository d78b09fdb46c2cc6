// Shared pieces of the hostile-input tests: one fresh surge-server per test
// (so the log starts empty and nothing asynchronous moves its head), client
// contexts with deadlines, the hostile values themselves, and raw calls
// through grpc::GenericStub for bytes no generated stub would send.
#ifndef SURGE_TESTS_HOSTILE_HOSTILE_FIXTURE_H_
#define SURGE_TESTS_HOSTILE_HOSTILE_FIXTURE_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"

namespace surge::testing {

// The server's largest accepted message (server/app.h max_message_bytes).
inline constexpr size_t kServerMaxMessageBytes = 4 << 20;

// A value with a readable name for failure messages.
template <typename T>
struct Named {
  std::string name;
  T value;
};

// Strings that no id or code may be: empty, too long, and every class of
// byte outside [A-Za-z0-9._:-].
std::vector<Named<std::string>> BadIds();
// Strings that no request_id may be (space and UTF-8 text are allowed
// there, control bytes and the length limits are not).
std::vector<Named<std::string>> BadRequestIds();

// A client context whose deadline turns a hung server into a failure.
std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(10));

// "CODE: message" for assertions.
std::string Describe(const grpc::Status& status);

// Sends `payload` as the request of `method` ("/surge.v1.OrderService/PlaceOrder")
// through a GenericStub and returns the final status.
grpc::Status RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                          const std::string& payload, absl::Duration timeout = absl::Seconds(10));

// Every unary RPC of surge.v1, as full method names.
std::vector<std::string> UnaryMethods();

class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // The log head, failing the test when it cannot be read.
  uint64_t Head();

  // Health SERVING and a valid write still acknowledged (which also moves the
  // head, proving the head checks above could see a write).
  void ExpectServerStillServes();

  std::unique_ptr<ServerProcess> server_;
};

}  // namespace surge::testing

#endif  // SURGE_TESTS_HOSTILE_HOSTILE_FIXTURE_H_
