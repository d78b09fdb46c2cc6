// surge-cli order place | get | cancel  (surge.v1.OrderService)
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clients/cli/command.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::cli {
namespace {

const FlagSpec kRequestId{"request-id", true, false,
                          "idempotency key (default: generated and printed)"};
const FlagSpec kWait{"wait", true, false, "wait up to MS milliseconds for the saga to settle"};

// "SKU:QTY"; the SKU may itself contain ':' so the last one separates.
absl::StatusOr<surge::v1::OrderLine> ParseLine(const std::string& text) {
  const size_t colon = text.rfind(':');
  int64_t qty = 0;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(text.substr(colon + 1), &qty)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--line must look like SKU:QTY, got \"", text, "\""));
  }
  surge::v1::OrderLine line;
  line.set_sku(text.substr(0, colon));
  line.set_quantity(qty);
  return line;
}

int Place(const ParsedArgs& args, CommandEnv& env) {
  surge::v1::PlaceOrderRequest req;
  std::optional<std::string> user = args.Get("user");
  if (!user.has_value()) return UsageError(env, "--user is required");
  std::vector<std::string> lines = args.GetAll("line");
  if (lines.empty()) return UsageError(env, "at least one --line SKU:QTY is required");
  for (const std::string& text : lines) {
    absl::StatusOr<surge::v1::OrderLine> line = ParseLine(text);
    if (!line.ok()) return UsageError(env, std::string(line.status().message()));
    *req.add_lines() = *line;
  }
  bool generated = false;
  req.set_request_id(RequestIdFrom(args, &generated));
  req.set_user_id(*user);

  auto stub = surge::v1::OrderService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  surge::v1::PlaceOrderResponse resp;
  grpc::Status status = stub->PlaceOrder(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  env.printer.PrintMessage(resp, {{"request_id", req.request_id()}});
  return kExitOk;
}

int Get(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<int64_t> wait = WaitMillis(args);
  if (!wait.ok()) return UsageError(env, std::string(wait.status().message()));
  surge::v1::GetOrderRequest req;
  req.set_order_id(args.positional(0));
  req.set_wait_for_settlement_ms(*wait);
  auto stub = surge::v1::OrderService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::Milliseconds(*wait));
  surge::v1::Order order;
  grpc::Status status = stub->GetOrder(ctx.get(), req, &order);
  if (!status.ok()) return RpcError(env, status);
  env.printer.PrintMessage(order);
  return kExitOk;
}

int Cancel(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<int64_t> wait = WaitMillis(args);
  if (!wait.ok()) return UsageError(env, std::string(wait.status().message()));
  surge::v1::CancelOrderRequest req;
  bool generated = false;
  req.set_request_id(RequestIdFrom(args, &generated));
  req.set_order_id(args.positional(0));
  req.set_wait_for_settlement_ms(*wait);
  auto stub = surge::v1::OrderService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::Milliseconds(*wait));
  surge::v1::Order order;
  grpc::Status status = stub->CancelOrder(ctx.get(), req, &order);
  if (!status.ok()) return RpcError(env, status);
  env.printer.PrintMessage(order, {{"request_id", req.request_id()}});
  return kExitOk;
}

}  // namespace

std::vector<Command> OrderCommands() {
  return {
      {{"order place",
        "--user U --line SKU:QTY [--line ...] [--request-id R]",
        "Places an order; it starts PENDING and the saga settles it.",
        {{"user", true, false, "user placing the order"},
         {"line", true, true, "an order line SKU:QTY (repeat for more lines)"},
         kRequestId},
        0,
        0},
       Place},
      {{"order get", "ID [--wait MS]", "Shows an order.", {kWait}, 1, 1}, Get},
      {{"order cancel",
        "ID [--request-id R] [--wait MS]",
        "Cancels an order; its stock is released by the saga.",
        {kRequestId, kWait},
        1,
        1},
       Cancel},
  };
}

}  // namespace surge::cli
