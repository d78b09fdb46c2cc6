// The Node.js client (clients/node/place_order.js on @grpc/grpc-js) against
// a live surge-server with an admin token. Its npm packages are installed by
// clients/node/install.sh, which the ctest fixture NodeClient.NpmCi runs
// first (npm ci, only when node_modules is missing or stale).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/clients/child_process.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {
namespace {

constexpr char kToken[] = "node-client-test-token";

std::string ClientScript() {
  return absl::StrCat(SURGE_SOURCE_DIR, "/clients/node/place_order.js");
}

// `node` on PATH as an absolute path (RunProcess wants one); "" when absent.
std::string NodeBinary() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = absl::StrCat(dir, "/node");
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string ValueOf(const std::string& out, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, absl::StrCat(key, ":"))) {
      return std::string(absl::StripAsciiWhitespace(line.substr(key.size() + 1)));
    }
  }
  return "";
}

std::string Describe(const RunResult& r) {
  return absl::StrCat("exit ", r.exit_code, "\n--- stdout\n", r.out, "--- stderr\n", r.err);
}

class NodeClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string token_file = dir_->Path("token");
    std::ofstream(token_file) << kToken;
    auto server = ServerProcess::Start(
        {.flags = {absl::StrCat("--admin_token_file=", token_file), "--log_level=warning"}});
    if (server.ok()) {
      server_ = server->release();
    } else {
      start_error_ = new std::string(server.status().ToString());
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    node_ = NodeBinary();
    if (node_.empty()) GTEST_SKIP() << "node not installed (scripts/install-deps.sh installs it)";
    ASSERT_NE(server_, nullptr) << (start_error_ ? *start_error_ : "no server");
  }

  // Runs the client with `args`; SURGE_ADDR and SURGE_ADMIN_TOKEN unset
  // unless `env` sets them.
  RunResult Run(std::vector<std::string> args,
                std::map<std::string, std::optional<std::string>> env = {}) {
    args.insert(args.begin(), {node_, ClientScript()});
    env.emplace("SURGE_ADDR", std::nullopt);
    env.emplace("SURGE_ADMIN_TOKEN", std::nullopt);
    return RunProcess(args, env, absl::Seconds(60));
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  static std::string* start_error_;
  std::string node_;
};

TempDir* NodeClientTest::dir_ = nullptr;
ServerProcess* NodeClientTest::server_ = nullptr;
std::string* NodeClientTest::start_error_ = nullptr;

TEST_F(NodeClientTest, RestocksPlacesAndWaitsForSettlement) {
  RunResult r = Run({"--addr", server_->address(), "--token", kToken, "--sku", "node-sku",
                     "--restock", "5", "--quantity", "2", "--wait-ms", "15000"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(absl::StrContains(r.out, "restocked:  node-sku +5 (position ")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "placed:     o-")) << r.out;
  EXPECT_EQ(ValueOf(r.out, "status"), "CONFIRMED") << r.out;
  const std::string order_id = ValueOf(r.out, "order_id");
  ASSERT_FALSE(order_id.empty()) << r.out;

  // The order really is on the server, placed by the client's default user.
  v1::GetOrderRequest request;
  request.set_order_id(order_id);
  v1::Order order;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(server_->Orders()->GetOrder(&context, request, &order).ok());
  EXPECT_EQ(order.user_id(), "node-user");
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_CONFIRMED);
  ASSERT_EQ(order.lines_size(), 1);
  EXPECT_EQ(order.lines(0).quantity(), 2);
}

TEST_F(NodeClientTest, TakesAddressAndTokenFromTheEnvironmentAndPrintsJson) {
  // A token alone restocks 10 (as the Python client does).
  RunResult r = Run({"--sku", "node-json", "--user", "nina", "--json"},
                    {{"SURGE_ADDR", server_->address()}, {"SURGE_ADMIN_TOKEN", kToken}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(absl::StrContains(r.out, "restocked:  node-json +10")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, R"("status":"ORDER_STATUS_CONFIRMED")")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, R"("user_id":"nina")")) << r.out;
}

TEST_F(NodeClientTest, AnOrderWithoutStockSettlesCancelledWithExitZero) {
  RunResult r = Run({"--addr", server_->address(), "--sku", "node-empty", "--wait-ms", "15000"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_FALSE(absl::StrContains(r.out, "restocked:")) << r.out;
  EXPECT_EQ(ValueOf(r.out, "status"), "CANCELLED") << r.out;
  EXPECT_FALSE(ValueOf(r.out, "reason").empty()) << r.out;
}

TEST_F(NodeClientTest, RpcErrorsExitOne) {
  RunResult bad = Run({"--addr", server_->address(), "--sku", "bad sku"});
  EXPECT_EQ(bad.exit_code, 1) << Describe(bad);
  EXPECT_TRUE(absl::StartsWith(bad.err, "error: INVALID_ARGUMENT: ")) << bad.err;

  RunResult unauthenticated = Run({"--addr", server_->address(), "--restock", "3"});
  EXPECT_EQ(unauthenticated.exit_code, 1) << Describe(unauthenticated);
  EXPECT_TRUE(absl::StartsWith(unauthenticated.err, "error: UNAUTHENTICATED: "))
      << unauthenticated.err;
}

TEST_F(NodeClientTest, UsageErrorsExitTwoAndHelpExitsZero) {
  RunResult help = Run({"--help"});
  EXPECT_EQ(help.exit_code, 0) << Describe(help);
  EXPECT_TRUE(absl::StrContains(help.out, "--wait-ms")) << help.out;

  RunResult unknown = Run({"--frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2) << Describe(unknown);
  EXPECT_TRUE(absl::StartsWith(unknown.err, "error: ")) << unknown.err;

  RunResult not_a_number = Run({"--quantity", "two"});
  EXPECT_EQ(not_a_number.exit_code, 2) << Describe(not_a_number);
}

TEST_F(NodeClientTest, MissingPackagesExitTwoWithAHint) {
  // A copy of the script where no node_modules can be found.
  TempDir elsewhere;
  const std::string copy = elsewhere.Path("place_order.js");
  {
    std::ifstream in(ClientScript());
    std::ofstream out(copy);
    out << in.rdbuf();
  }
  RunResult r = RunProcess(
      {node_, copy, "--addr", server_->address()},
      {{"NODE_PATH", std::nullopt}, {"SURGE_PROTO_DIR", absl::StrCat(SURGE_SOURCE_DIR, "/protos")}},
      absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_TRUE(absl::StrContains(r.err, "npm ci")) << r.err;
}

}  // namespace
}  // namespace surge::testing
