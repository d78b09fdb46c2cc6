// surge-cli events read | stream | tail  (surge.v1.EventStoreService)
#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "clients/cli/command.h"
#include "clients/cli/interrupt.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::cli {
namespace {

int Read(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<int64_t> from = args.GetInt("from", 1);
  absl::StatusOr<int64_t> max = args.GetInt("max", 100);
  if (!from.ok()) return UsageError(env, std::string(from.status().message()));
  if (!max.ok()) return UsageError(env, std::string(max.status().message()));
  if (*from < 0 || *max < 0) return UsageError(env, "--from and --max must be >= 0");
  surge::v1::ReadAllRequest req;
  req.set_from_position(static_cast<uint64_t>(*from));
  req.set_max_count(static_cast<uint32_t>(*max));
  auto stub = surge::v1::EventStoreService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  surge::v1::ReadAllResponse resp;
  grpc::Status status = stub->ReadAll(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  if (env.printer.json()) {
    env.printer.PrintMessage(resp);
    return kExitOk;
  }
  for (const surge::v1::Event& e : resp.events()) env.printer.PrintEvent(e);
  env.printer.PrintSummary({{"events", absl::StrCat(resp.events_size())},
                            {"next_position", absl::StrCat(resp.next_position())},
                            {"head_position", absl::StrCat(resp.head_position())}});
  return kExitOk;
}

int Stream(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<int64_t> from = args.GetInt("from-version", 0);
  absl::StatusOr<int64_t> max = args.GetInt("max", 100);
  if (!from.ok()) return UsageError(env, std::string(from.status().message()));
  if (!max.ok()) return UsageError(env, std::string(max.status().message()));
  if (*max < 0) return UsageError(env, "--max must be >= 0");
  surge::v1::ReadStreamRequest req;
  req.set_stream_id(args.positional(0));
  req.set_from_version(*from);
  req.set_max_count(static_cast<uint32_t>(*max));
  auto stub = surge::v1::EventStoreService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  surge::v1::ReadStreamResponse resp;
  grpc::Status status = stub->ReadStream(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  if (env.printer.json()) {
    env.printer.PrintMessage(resp);
    return kExitOk;
  }
  for (const surge::v1::Event& e : resp.events()) env.printer.PrintEvent(e);
  env.printer.PrintSummary({{"events", absl::StrCat(resp.events_size())},
                            {"current_version", absl::StrCat(resp.current_version())}});
  return kExitOk;
}

// Follows the live subscription until the server ends it or the user stops
// us with Ctrl-C / SIGTERM, which is a normal end (exit 0).
int Tail(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<int64_t> from = args.GetInt("from", 0);
  if (!from.ok()) return UsageError(env, std::string(from.status().message()));
  if (*from < 0) return UsageError(env, "--from must be >= 0");
  surge::v1::SubscribeRequest req;
  req.set_from_position(static_cast<uint64_t>(*from));
  // --type may repeat, and each may list several: --type order_confirmed,order_cancelled
  for (const std::string& types : args.GetAll("type")) {
    for (absl::string_view type : absl::StrSplit(types, ',', absl::SkipWhitespace())) {
      req.add_event_types(std::string(absl::StripAsciiWhitespace(type)));
    }
  }
  auto stub = surge::v1::EventStoreService::NewStub(env.connection.channel());
  std::unique_ptr<grpc::ClientContext> ctx = env.connection.NewStreamingContext();
  // Written by the signal thread, read here after the stream ends; the
  // acquire/release pair orders it with the cancellation.
  std::atomic<bool> interrupted{false};
  InterruptWatcher::SetHandler([&] {
    interrupted.store(true, std::memory_order_release);
    ctx->TryCancel();
  });
  auto reader = stub->Subscribe(ctx.get(), req);
  surge::v1::Event event;
  while (reader->Read(&event)) env.printer.PrintEvent(event);
  grpc::Status status = reader->Finish();
  InterruptWatcher::SetHandler(nullptr);
  if (interrupted.load(std::memory_order_acquire)) return kExitOk;
  if (!status.ok()) return RpcError(env, status);
  return kExitOk;
}

}  // namespace

std::vector<Command> EventCommands() {
  return {
      {{"events read",
        "[--from P] [--max N]",
        "Reads the global log from a position.",
        {{"from", true, false, "first position (default 1)"},
         {"max", true, false, "events to read (default 100, at most 1,000)"}},
        0,
        0},
       Read},
      {{"events stream",
        "STREAM_ID [--from-version V] [--max N]",
        "Reads one stream, e.g. order-<id>.",
        {{"from-version", true, false, "first version (default 0)"},
         {"max", true, false, "events to read (default 100, at most 1,000)"}},
        1,
        1},
       Stream},
      {{"events tail",
        "[--from P] [--type T[,T...]]...",
        "Prints the log from a position, then follows it live until Ctrl-C.",
        {{"from", true, false, "catch up from this position (default 0: start)"},
         {"type", true, true,
          "only events of these types, e.g. order_confirmed,order_cancelled (default: all)"}},
        0,
        0},
       Tail},
  };
}

}  // namespace surge::cli
