// surge-cli over TLS (--tls_ca) against a server of its own started with a
// fresh self-signed certificate.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/clients/cli_test_util.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {
namespace {

TEST(CliTlsTest, ConnectsWithTheGivenCaAndFailsWithoutIt) {
  TempDir dir;
  const std::string cert = dir.Path("cert.pem"), key = dir.Path("key.pem");
  const std::string command = absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout ",
      key, " -out ", cert, " > ", dir.Path("openssl.log"), " 2>&1");
  ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed: " << command;
  std::ifstream in(cert);
  std::stringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem.str();
  ServerProcess::Options options;
  options.flags = {"--tls_cert=" + cert, "--tls_key=" + key};
  options.credentials = grpc::SslCredentials(ssl);
  auto server = ServerProcess::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string addr = (*server)->address();

  RunResult tls = RunProcess({SURGE_CLI_BIN, "--addr", addr, "--tls_ca", cert, "health"});
  EXPECT_EQ(tls.exit_code, 0) << Describe(tls);
  EXPECT_EQ(ValueOf(tls.out, "status"), "SERVING") << tls.out;

  RunResult plain = RunProcess({SURGE_CLI_BIN, "--addr", addr, "--timeout", "3s", "health"});
  EXPECT_EQ(plain.exit_code, 1) << Describe(plain);
  EXPECT_TRUE(absl::StartsWith(plain.err, "error: UNAVAILABLE: ")) << plain.err;

  RunResult no_file =
      RunProcess({SURGE_CLI_BIN, "--addr", addr, "--tls_ca", dir.Path("missing.pem"), "health"});
  EXPECT_EQ(no_file.exit_code, 2) << Describe(no_file);
  EXPECT_TRUE(absl::StrContains(no_file.err, "cannot read --tls_ca file")) << no_file.err;
}

}  // namespace
}  // namespace surge::testing
