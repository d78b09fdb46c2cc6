#include "clients/cli/connection.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace surge::cli {
namespace {

// The contents of the PEM file given with --<flag>. InvalidArgument naming the
// flag and the file when it cannot be read or holds no PEM block: checked here
// because gRPC would only fail later, per call, with a message that names
// neither.
absl::StatusOr<std::string> ReadPemFile(absl::string_view flag, const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read --", flag, " file ", path,
                                                   errno != 0 ? ": " : "",
                                                   errno != 0 ? std::strerror(errno) : ""));
  }
  // operator<< catches a read error (a directory, say) and leaves `pem`
  // empty, which the check below reports.
  std::stringstream pem;
  pem << in.rdbuf();
  std::string text = pem.str();
  if (!absl::StrContains(text, "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " file ", path, " holds no PEM data (no \"-----BEGIN\" line)"));
  }
  return text;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const GlobalOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError(
        options.tls_cert.empty()
            ? "--tls_key needs --tls_cert: a client key is only used with its certificate"
            : "--tls_cert needs --tls_key: a client certificate is only used with its key");
  }
  if (!options.tls && options.tls_ca.empty() && options.tls_cert.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.tls_ca.empty()) {
    SURGE_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPemFile("tls_ca", options.tls_ca));
  }
  if (!options.tls_cert.empty()) {
    SURGE_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPemFile("tls_cert", options.tls_cert));
    SURGE_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPemFile("tls_key", options.tls_key));
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace

std::string TlsHint(const GlobalOptions& options, const grpc::Status& status) {
  const bool tls = options.tls || !options.tls_ca.empty() || !options.tls_cert.empty();
  // How gRPC 1.51 words a connection the peer closed (FIN or RST).
  const bool closed = absl::StrContains(status.error_message(), "Socket closed") ||
                      absl::StrContains(status.error_message(), "Connection reset");
  if (!tls || status.error_code() != grpc::StatusCode::UNAVAILABLE || !closed) return "";
  if (options.tls_cert.empty()) {
    return "the server closed the TLS connection; if it requires client certificates (mTLS), "
           "pass --tls_cert and --tls_key";
  }
  return absl::StrCat(
      "the server closed the TLS connection; if it requires client certificates "
      "(mTLS), check that its --tls_client_ca signed --tls_cert ",
      options.tls_cert);
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Create(const GlobalOptions& options) {
  SURGE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds, MakeCredentials(options));
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
