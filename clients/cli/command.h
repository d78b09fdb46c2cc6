// What every surge-cli command shares: its spec, the environment it runs in,
// exit codes, and the helpers that turn failures into the CLI's contract:
//   exit 0 success; 1 RPC error ("error: NOT_FOUND: ..." on stderr);
//   2 usage error (message plus the command's usage text on stderr).
//
// Each command group (order, stock, ...) lives in its own file and exposes
// a function returning its commands; surge_cli.cc dispatches on them.
#ifndef SURGE_CLIENTS_CLI_COMMAND_H_
#define SURGE_CLIENTS_CLI_COMMAND_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "clients/cli/args.h"
#include "clients/cli/connection.h"
#include "clients/cli/printer.h"
#include "grpcpp/support/status.h"

namespace surge::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;
inline constexpr int kExitUsage = 2;

// Borrowed by a running command; owned by RunCli.
struct CommandEnv {
  const GlobalOptions& globals;
  const Connection& connection;
  Printer& printer;
  const CommandSpec& spec;  // of the running command, for usage errors
};

struct Command {
  CommandSpec spec;
  std::function<int(const ParsedArgs& args, CommandEnv& env)> run;
};

// A command group such as "order" with its subcommands.
struct CommandGroup {
  std::string name;
  std::string summary;
  std::vector<Command> commands;
};

std::vector<Command> OrderCommands();
std::vector<Command> StockCommands();
std::vector<Command> CouponCommands();
std::vector<Command> EventCommands();
std::vector<Command> DeadLetterCommands();
std::vector<Command> HealthCommands();
std::vector<Command> ClusterCommands();
std::vector<Command> LoadCommands();
std::vector<Command> KafkaCommands();

// "NOT_FOUND" for grpc::StatusCode::NOT_FOUND.
std::string StatusCodeName(grpc::StatusCode code);
// Prints "error: <CODE>: <message>" (plus a "hint: ..." line when TlsHint
// has one) and returns kExitRpcError.
int RpcError(CommandEnv& env, const grpc::Status& status);
// Prints "error: <message>" and the usage text, returns kExitUsage.
int UsageError(CommandEnv& env, const std::string& message);
// A fresh idempotency key, unique per invocation: "cli-<time>-<random>".
std::string NewRequestId();
// --request-id if given, else NewRequestId(). `generated` tells which.
std::string RequestIdFrom(const ParsedArgs& args, bool* generated);
// --wait MS as a duration (0 when absent); usage error text on failure.
absl::StatusOr<int64_t> WaitMillis(const ParsedArgs& args);

// The flags every command accepts (--addr, --token, --json, ...).
const std::vector<FlagSpec>& GlobalFlags();

}  // namespace surge::cli

#endif  // SURGE_CLIENTS_CLI_COMMAND_H_
