// surge-cli stock adjust | get  (surge.v1.InventoryService)
#include "clients/cli/command.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::cli {
namespace {

int Adjust(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<int64_t> delta = ParseInt(args.positional(1), "DELTA");
  if (!delta.ok()) return UsageError(env, std::string(delta.status().message()));
  surge::v1::AdjustStockRequest req;
  bool generated = false;
  req.set_request_id(RequestIdFrom(args, &generated));
  req.set_sku(args.positional(0));
  req.set_delta(*delta);
  auto stub = surge::v1::InventoryService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  surge::v1::AdjustStockResponse resp;
  grpc::Status status = stub->AdjustStock(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  env.printer.PrintMessage(resp, {{"request_id", req.request_id()}});
  return kExitOk;
}

int Get(const ParsedArgs& args, CommandEnv& env) {
  surge::v1::GetStockRequest req;
  req.set_sku(args.positional(0));
  auto stub = surge::v1::InventoryService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  surge::v1::Stock stock;
  grpc::Status status = stub->GetStock(ctx.get(), req, &stock);
  if (!status.ok()) return RpcError(env, status);
  env.printer.PrintMessage(stock);
  return kExitOk;
}

}  // namespace

std::vector<Command> StockCommands() {
  return {
      {{"stock adjust",
        "SKU DELTA [--request-id R]",
        "Restocks (DELTA > 0) or writes off (DELTA < 0) a SKU. Admin.",
        {{"request-id", true, false, "idempotency key (default: generated and printed)"}},
        2,
        2},
       Adjust},
      {{"stock get", "SKU", "Shows the stock of a SKU.", {}, 1, 1}, Get},
  };
}

}  // namespace surge::cli
