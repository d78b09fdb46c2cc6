// The real surge-server the client tests talk to: one per test process,
// started on first use with an admin token and a fresh data directory, and
// stopped when the process exits.
#ifndef SURGE_TESTS_CLIENTS_LIVE_SERVER_H_
#define SURGE_TESTS_CLIENTS_LIVE_SERVER_H_

#include <memory>
#include <string>

#include "grpcpp/channel.h"

namespace surge::testing {

class LiveServer {
 public:
  static constexpr char kAdminToken[] = "clients-test-token";

  // Starts the server on first call; fails the test binary with a clear
  // message (and the server's log) when it does not come up.
  static LiveServer& Get();

  virtual ~LiveServer() = default;
  virtual std::string addr() const = 0;
  virtual std::shared_ptr<grpc::Channel> channel() const = 0;
};

}  // namespace surge::testing

#endif  // SURGE_TESTS_CLIENTS_LIVE_SERVER_H_
