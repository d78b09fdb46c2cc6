// surge-cli's Connection setup without a server: which TLS settings are
// refused before dialling, and when a failed call gets a TLS hint.
#include "clients/cli/connection.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace surge::cli {
namespace {

// A fresh directory, removed with its files at the end of the test. (The
// shared tests/support TempDir would make this unit test depend on building
// surge-server.)
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ::testing::TempDir() + "surge-cli-connection-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Not a real certificate: Create only checks that files are PEM; gRPC parses
// them when it dials, which these tests never do.
constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

const grpc::Status kClosed(grpc::StatusCode::UNAVAILABLE,
                           "failed to connect to all addresses; last error: UNAVAILABLE: "
                           "ipv4:127.0.0.1:1: Socket closed");

TEST(ConnectionTest, RefusesHalfAClientCertificatePair) {
  GlobalOptions cert_only;
  cert_only.tls_cert = "/any/cert.pem";
  absl::StatusOr<std::unique_ptr<Connection>> a = Connection::Create(cert_only);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(a.status().message(), "--tls_cert needs --tls_key")) << a.status();

  GlobalOptions key_only;
  key_only.tls_key = "/any/key.pem";
  absl::StatusOr<std::unique_ptr<Connection>> b = Connection::Create(key_only);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(b.status().message(), "--tls_key needs --tls_cert")) << b.status();
}

TEST(ConnectionTest, NamesTheFlagAndFileThatCannotBeReadOrIsNotPem) {
  ScratchDir dir;
  const std::string cert = dir.Path("cert.pem"), not_pem = dir.Path("key.der");
  std::ofstream(cert) << kPem;
  std::ofstream(not_pem) << "\x30\x82\x01\x0a";
  GlobalOptions options;
  options.tls_cert = cert;
  options.tls_key = dir.Path("missing.pem");
  EXPECT_EQ(Connection::Create(options).status().message(),
            "cannot read --tls_key file " + options.tls_key + ": No such file or directory");

  options.tls_key = not_pem;
  EXPECT_EQ(Connection::Create(options).status().message(),
            "--tls_key file " + not_pem + " holds no PEM data (no \"-----BEGIN\" line)");

  options.tls_key = cert;
  options.tls_ca = dir.path();  // a directory: opens, but reads nothing
  EXPECT_TRUE(absl::StartsWith(Connection::Create(options).status().message(),
                               "--tls_ca file " + dir.path() + " holds no PEM data"));
}

TEST(ConnectionTest, AcceptsAPemPairWithoutDialling) {
  ScratchDir dir;
  const std::string pem = dir.Path("both.pem");
  std::ofstream(pem) << kPem;
  GlobalOptions options;
  options.addr = "127.0.0.1:1";
  options.tls_cert = pem;
  options.tls_key = pem;
  EXPECT_TRUE(Connection::Create(options).ok());
}

TEST(ConnectionTest, HintsAtClientCertificatesOnlyForATlsConnectionTheServerClosed) {
  GlobalOptions plain;
  EXPECT_EQ(TlsHint(plain, kClosed), "");

  GlobalOptions tls;
  tls.tls_ca = "ca.pem";
  EXPECT_TRUE(absl::StrContains(TlsHint(tls, kClosed), "pass --tls_cert and --tls_key"));
  EXPECT_EQ(TlsHint(tls, grpc::Status(grpc::StatusCode::NOT_FOUND, "Socket closed")), "");
  EXPECT_EQ(TlsHint(tls, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                      "ipv4:127.0.0.1:1: Connection refused")),
            "");

  GlobalOptions mtls = tls;
  mtls.tls_cert = "client.pem";
  mtls.tls_key = "client.key";
  EXPECT_TRUE(absl::StrContains(TlsHint(mtls, kClosed),
                                "check that its --tls_client_ca signed --tls_cert client.pem"));
}

}  // namespace
}  // namespace surge::cli
