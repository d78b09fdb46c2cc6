// surge-cli health  (grpc.health.v1.Health/Check)
#include "clients/cli/command.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace surge::cli {
namespace {

// Exit 0 only when SERVING, so scripts can wait on it.
int Health(const ParsedArgs& args, CommandEnv& env) {
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(args.GetOr("service", ""));
  auto stub = grpc::health::v1::Health::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status status = stub->Check(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  env.printer.PrintMessage(resp);
  return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk : kExitRpcError;
}

}  // namespace

std::vector<Command> HealthCommands() {
  return {
      {{"health",
        "[--service NAME]",
        "Checks the server's health (exit 0 when SERVING).",
        {{"service", true, false, "service to check (default: the whole server)"}},
        0,
        0},
       Health},
  };
}

}  // namespace surge::cli
