// surge-cli dlt list | replay  (surge.v1.DeadLetterService, admin)
#include "absl/strings/str_cat.h"
#include "clients/cli/command.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::cli {
namespace {

int List(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<int64_t> limit = args.GetInt("limit", 0);
  if (!limit.ok()) return UsageError(env, std::string(limit.status().message()));
  if (*limit < 0) return UsageError(env, "--limit must be >= 0");
  surge::v1::ListDeadLettersRequest req;
  req.set_topic(args.GetOr("topic", ""));
  req.set_limit(static_cast<uint32_t>(*limit));
  auto stub = surge::v1::DeadLetterService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  surge::v1::ListDeadLettersResponse resp;
  grpc::Status status = stub->ListDeadLetters(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  if (env.printer.json()) {
    env.printer.PrintMessage(resp);
    return kExitOk;
  }
  // One block per entry, separated by blank lines, then a count.
  for (const surge::v1::DeadLetter& entry : resp.entries()) {
    env.printer.PrintMessage(entry);
    env.printer.out() << "\n";
  }
  env.printer.PrintSummary({{"entries", absl::StrCat(resp.entries_size())}});
  return kExitOk;
}

int Replay(const ParsedArgs& args, CommandEnv& env) {
  surge::v1::ReplayDeadLetterRequest req;
  req.set_id(args.positional(0));
  auto stub = surge::v1::DeadLetterService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  surge::v1::ReplayDeadLetterResponse resp;
  grpc::Status status = stub->ReplayDeadLetter(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  env.printer.PrintMessage(resp);
  return kExitOk;
}

}  // namespace

std::vector<Command> DeadLetterCommands() {
  return {
      {{"dlt list",
        "[--topic T] [--limit N]",
        "Lists dead-lettered messages. Admin.",
        {{"topic", true, false, "original topic, e.g. surge.coupons (default: all)"},
         {"limit", true, false, "entries to list (default 100)"}},
        0,
        0},
       List},
      {{"dlt replay", "ID", "Re-applies a dead letter (deduplicated). Admin.", {}, 1, 1}, Replay},
  };
}

}  // namespace surge::cli
