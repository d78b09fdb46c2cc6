#include "clients/cli/connection.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace surge::cli {

absl::StatusOr<std::unique_ptr<Connection>> Connection::Create(const GlobalOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.tls || !options.tls_ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca.empty()) {
      std::ifstream in(options.tls_ca);
      if (!in) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot read --tls_ca file ", options.tls_ca));
      }
      std::stringstream pem;
      pem << in.rdbuf();
      ssl.pem_root_certs = pem.str();
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  return std::unique_ptr<Connection>(
      new Connection(options, grpc::CreateChannel(options.addr, creds)));
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext(absl::Duration extra) const {
  auto ctx = NewStreamingContext();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout + extra));
  return ctx;
}

std::unique_ptr<grpc::ClientContext> Connection::NewStreamingContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!options_.token.empty()) {
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
  }
  return ctx;
}

}  // namespace surge::cli
