// surge-cli against a server that requires client certificates (mTLS:
// surge-server --tls_client_ca). Each test makes its own certificates with
// openssl: a test CA that signs the server's and the client's certificates,
// and another CA whose client certificate the server must refuse.
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/clients/cli_test_util.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {
namespace {

// A P-256 key: fast to generate, so every test can make fresh certificates.
constexpr char kNewKey[] = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class CliMtlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(MakeCa("ca"));
    ASSERT_TRUE(MakeCa("other-ca"));
    ASSERT_TRUE(MakeLeaf("server", "ca", "/CN=localhost",
                         "-addext subjectAltName=IP:127.0.0.1,DNS:localhost "
                         "-addext extendedKeyUsage=serverAuth"));
    ASSERT_TRUE(
        MakeLeaf("client", "ca", "/CN=surge-test-client", "-addext extendedKeyUsage=clientAuth"));
    ASSERT_TRUE(MakeLeaf("stranger", "other-ca", "/CN=surge-test-stranger",
                         "-addext extendedKeyUsage=clientAuth"));
  }

  // <name>.pem and <name>.key in the test's directory.
  std::string Pem(const std::string& name) const { return dir_.Path(name + ".pem"); }
  std::string Key(const std::string& name) const { return dir_.Path(name + ".key"); }

  // A surge-server that serves TLS with the "server" certificate and requires
  // client certificates signed by "ca". Its own readiness check presents the
  // "client" certificate.
  void StartServer() {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(Pem("ca"));
    ssl.pem_cert_chain = ReadFile(Pem("client"));
    ssl.pem_private_key = ReadFile(Key("client"));
    ServerProcess::Options options;
    options.flags = {"--tls_cert=" + Pem("server"), "--tls_key=" + Key("server"),
                     "--tls_client_ca=" + Pem("ca"), "--log_level=warning"};
    options.credentials = grpc::SslCredentials(ssl);
    absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // surge-cli --addr <server> --tls_ca ca.pem <args>, with a short deadline
  // (a refused handshake fails fast; the deadline only bounds a hang) and no
  // SURGE_* variables from the environment.
  RunResult Cli(const std::vector<std::string>& args) const {
    // Without a server (usage errors) nothing is dialled; port 1 would refuse.
    const std::string addr = server_ ? server_->address() : "127.0.0.1:1";
    std::vector<std::string> argv = {SURGE_CLI_BIN, "--addr",    addr, "--tls_ca",
                                     Pem("ca"),     "--timeout", "5s"};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::map<std::string, std::optional<std::string>> env = {
        {"SURGE_ADDR", std::nullopt}, {"SURGE_ADMIN_TOKEN", std::nullopt}};
    return RunProcess(argv, env, absl::Seconds(30));
  }

  // The flags that present the certificate `name` (signed by its CA).
  std::vector<std::string> As(const std::string& name) const {
    return {"--tls_cert", Pem(name), "--tls_key", Key(name)};
  }

 private:
  ::testing::AssertionResult OpenSsl(const std::string& args) const {
    const std::string log = dir_.Path("openssl.log");
    const std::string command = absl::StrCat("openssl ", args, " >> ", log, " 2>&1");
    if (std::system(command.c_str()) == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "openssl failed: " << command << "\n" << ReadFile(log);
  }

  ::testing::AssertionResult MakeCa(const std::string& name) const {
    return OpenSsl(absl::StrCat("req -x509 ", kNewKey, " -subj /CN=surge-test-", name,
                                " -addext basicConstraints=critical,CA:TRUE -keyout ", Key(name),
                                " -out ", Pem(name)));
  }

  ::testing::AssertionResult MakeLeaf(const std::string& name, const std::string& ca,
                                      const std::string& subject,
                                      const std::string& extensions) const {
    return OpenSsl(absl::StrCat("req -x509 -CA ", Pem(ca), " -CAkey ", Key(ca), " ", kNewKey,
                                " -subj ", subject, " -addext basicConstraints=critical,CA:FALSE ",
                                extensions, " -keyout ", Key(name), " -out ", Pem(name)));
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(CliMtlsTest, HealthAndRpcsSucceedWithACertificateSignedByTheClientCa) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  RunResult health = Cli(Concat(As("client"), {"health"}));
  EXPECT_EQ(health.exit_code, 0) << Describe(health);
  EXPECT_EQ(ValueOf(health.out, "status"), "SERVING") << health.out;

  // A write and a read of what it wrote: both reach the service handlers.
  RunResult placed =
      Cli(Concat(As("client"), {"order", "place", "--user", "u-mtls", "--line", "mtls-sku:1"}));
  ASSERT_EQ(placed.exit_code, 0) << Describe(placed);
  const std::string order_id = ValueOf(placed.out, "order_id");
  ASSERT_FALSE(order_id.empty()) << placed.out;
  RunResult got = Cli(Concat(As("client"), {"order", "get", order_id}));
  EXPECT_EQ(got.exit_code, 0) << Describe(got);
  EXPECT_EQ(ValueOf(got.out, "order_id"), order_id) << got.out;

  // An application error comes back as itself, not as a transport failure.
  RunResult missing = Cli(Concat(As("client"), {"order", "get", "o-not-there"}));
  EXPECT_EQ(missing.exit_code, 1) << Describe(missing);
  EXPECT_TRUE(absl::StartsWith(missing.err, "error: NOT_FOUND: ")) << missing.err;
  EXPECT_FALSE(absl::StrContains(missing.err, "hint:")) << missing.err;
}

TEST_F(CliMtlsTest, FailsWithoutAClientCertificate) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  RunResult r = Cli({"health"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: UNAVAILABLE: ")) << r.err;
  // gRPC only says the socket closed; the hint says what to do about it.
  EXPECT_TRUE(absl::StrContains(r.err,
                                "requires client certificates (mTLS), pass --tls_cert and "
                                "--tls_key\n"))
      << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(CliMtlsTest, FailsWithACertificateSignedByAnotherCa) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  RunResult r = Cli(Concat(As("stranger"), {"health"}));
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: UNAVAILABLE: ")) << r.err;
  EXPECT_TRUE(absl::StrContains(
      r.err, "check that its --tls_client_ca signed --tls_cert " + Pem("stranger") + "\n"))
      << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(CliMtlsTest, HalfACertificatePairIsAUsageError) {
  // No server: the pair is checked before anything is dialled.
  RunResult cert_only = Cli({"--tls_cert", Pem("client"), "health"});
  EXPECT_EQ(cert_only.exit_code, 2) << Describe(cert_only);
  EXPECT_TRUE(absl::StrContains(cert_only.err, "--tls_cert needs --tls_key")) << cert_only.err;

  RunResult key_only = Cli({"--tls_key=" + Key("client"), "health"});
  EXPECT_EQ(key_only.exit_code, 2) << Describe(key_only);
  EXPECT_TRUE(absl::StrContains(key_only.err, "--tls_key needs --tls_cert")) << key_only.err;
}

TEST_F(CliMtlsTest, AnUnreadableOrNonPemFileNamesTheFlagAndTheFile) {
  const std::string missing = Pem("missing");
  RunResult no_key = Cli({"--tls_cert", Pem("client"), "--tls_key", missing, "health"});
  EXPECT_EQ(no_key.exit_code, 2) << Describe(no_key);
  EXPECT_TRUE(absl::StrContains(no_key.err, "cannot read --tls_key file " + missing)) << no_key.err;

  RunResult no_cert = Cli({"--tls_cert", missing, "--tls_key", Key("client"), "health"});
  EXPECT_EQ(no_cert.exit_code, 2) << Describe(no_cert);
  EXPECT_TRUE(absl::StrContains(no_cert.err, "cannot read --tls_cert file " + missing))
      << no_cert.err;

  // A file that exists but is not PEM (a DER key, a wrong path to a log...).
  const std::string not_pem = Pem("not-pem");
  std::ofstream(not_pem) << "this is not a key\n";
  RunResult bad_key = Cli({"--tls_cert", Pem("client"), "--tls_key", not_pem, "health"});
  EXPECT_EQ(bad_key.exit_code, 2) << Describe(bad_key);
  EXPECT_TRUE(absl::StrContains(bad_key.err, "--tls_key file " + not_pem + " holds no PEM data"))
      << bad_key.err;
}

TEST_F(CliMtlsTest, HelpListsTheClientCertificateFlags) {
  RunResult help = Cli({"--help"});
  EXPECT_EQ(help.exit_code, 0) << Describe(help);
  EXPECT_TRUE(absl::StrContains(help.out, "--tls_cert")) << help.out;
  EXPECT_TRUE(absl::StrContains(help.out, "--tls_key")) << help.out;
}

}  // namespace
}  // namespace surge::testing
