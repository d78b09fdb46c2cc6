// How surge-cli reaches the server: the global flags that describe the
// connection and a Connection that builds the channel and per-call contexts
// (deadline, admin token). Stubs are created by the commands from channel().
//
//   Connection conn(globals);
//   auto stub = surge::v1::OrderService::NewStub(conn.channel());
//   auto ctx = conn.NewContext(/*extra=*/absl::ZeroDuration());
//
// Thread-safe after construction: NewContext may be called from many threads
// (the load command does); the channel is shared.
#ifndef SURGE_CLIENTS_CLI_CONNECTION_H_
#define SURGE_CLIENTS_CLI_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace surge::cli {

struct GlobalOptions {
  // Server address host:port. Flag --addr, else env SURGE_ADDR.
  std::string addr = "127.0.0.1:50051";
  // Sent as "authorization: Bearer <token>" on every call when non-empty
  // (admin RPCs need it when the server has a token). Flag --token, else env
  // SURGE_ADMIN_TOKEN.
  std::string token;
  // Print protobuf JSON, one object per line, instead of key/value lines.
  bool json = false;
  // Deadline of each call; waits asked for with --wait are added on top.
  absl::Duration timeout = absl::Seconds(10);
  // Use TLS. Implied by a non-empty tls_ca, tls_cert or tls_key.
  bool tls = false;
  // PEM file with the CA certificates to trust; empty = system roots.
  std::string tls_ca;
  // PEM client certificate chain presented to the server (mTLS) and its
  // private key. Both or neither: a certificate without its key (or the
  // reverse) cannot authenticate, so Create refuses half a pair.
  std::string tls_cert;
  std::string tls_key;
};

// One line that explains a failed call the connection's TLS settings likely
// caused, or "" when none applies. A server that requires client certificates
// (mTLS) rejects a missing or unknown one only after the client's side of the
// TLS 1.3 handshake is done, so the client sees just "Socket closed" (or a
// reset); the reason is in the server's log. Matching gRPC's message text is
// a guess, so the hint says what to check rather than what happened.
std::string TlsHint(const GlobalOptions& options, const grpc::Status& status);

class Connection {
 public:
  // Fails with InvalidArgument when a TLS file (--tls_ca, --tls_cert,
  // --tls_key) cannot be read or holds no PEM data, or when only one of
  // tls_cert and tls_key is given. The message names the flag and the file.
  static absl::StatusOr<std::unique_ptr<Connection>> Create(const GlobalOptions& options);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // A context carrying the token and a deadline of timeout + extra.
  std::unique_ptr<grpc::ClientContext> NewContext(absl::Duration extra) const;
  // A context carrying the token and no deadline (live streams).
  std::unique_ptr<grpc::ClientContext> NewStreamingContext() const;

 private:
  Connection(GlobalOptions options, std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)), channel_(std::move(channel)) {}

  const GlobalOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace surge::cli

#endif  // SURGE_CLIENTS_CLI_CONNECTION_H_
