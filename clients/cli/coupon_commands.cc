// surge-cli coupon create | request | get | campaign  (surge.v1.CouponService)
#include "clients/cli/command.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::cli {
namespace {

const FlagSpec kRequestId{"request-id", true, false,
                          "idempotency key (default: generated and printed)"};

int Create(const ParsedArgs& args, CommandEnv& env) {
  if (!args.Has("quantity")) return UsageError(env, "--quantity is required");
  absl::StatusOr<int64_t> quantity = args.GetInt("quantity", 0);
  if (!quantity.ok()) return UsageError(env, std::string(quantity.status().message()));
  absl::StatusOr<int64_t> limit = args.GetInt("per-user-limit", 1);
  if (!limit.ok()) return UsageError(env, std::string(limit.status().message()));
  surge::v1::CreateCampaignRequest req;
  bool generated = false;
  req.set_request_id(RequestIdFrom(args, &generated));
  req.set_code(args.positional(0));
  req.set_total_quantity(*quantity);
  req.set_per_user_limit(*limit);
  auto stub = surge::v1::CouponService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  surge::v1::CreateCampaignResponse resp;
  grpc::Status status = stub->CreateCampaign(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  env.printer.PrintMessage(resp, {{"request_id", req.request_id()}});
  return kExitOk;
}

int Request(const ParsedArgs& args, CommandEnv& env) {
  std::optional<std::string> user = args.Get("user");
  if (!user.has_value()) return UsageError(env, "--user is required");
  surge::v1::RequestCouponRequest req;
  bool generated = false;
  req.set_request_id(RequestIdFrom(args, &generated));
  req.set_user_id(*user);
  req.set_code(args.positional(0));
  auto stub = surge::v1::CouponService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  surge::v1::RequestCouponResponse resp;
  grpc::Status status = stub->RequestCoupon(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  // The request id is what `coupon get` needs, so it is always shown.
  env.printer.PrintMessage(resp, {{"request_id", req.request_id()}});
  return kExitOk;
}

int GetRequest(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<int64_t> wait = WaitMillis(args);
  if (!wait.ok()) return UsageError(env, std::string(wait.status().message()));
  surge::v1::GetCouponRequestRequest req;
  req.set_request_id(args.positional(0));
  req.set_wait_for_settlement_ms(*wait);
  auto stub = surge::v1::CouponService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::Milliseconds(*wait));
  surge::v1::CouponRequest resp;
  grpc::Status status = stub->GetCouponRequest(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  env.printer.PrintMessage(resp);
  return kExitOk;
}

int GetCampaign(const ParsedArgs& args, CommandEnv& env) {
  surge::v1::GetCampaignRequest req;
  req.set_code(args.positional(0));
  auto stub = surge::v1::CouponService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  surge::v1::Campaign resp;
  grpc::Status status = stub->GetCampaign(ctx.get(), req, &resp);
  if (!status.ok()) return RpcError(env, status);
  env.printer.PrintMessage(resp);
  return kExitOk;
}

}  // namespace

std::vector<Command> CouponCommands() {
  return {
      {{"coupon create",
        "CODE --quantity N [--per-user-limit K] [--request-id R]",
        "Creates a first-come coupon campaign. Admin.",
        {{"quantity", true, false, "coupons to hand out (1..1,000,000)"},
         {"per-user-limit", true, false, "coupons one user may hold (default 1)"},
         kRequestId},
        1,
        1},
       Create},
      {{"coupon request",
        "CODE --user U [--request-id R]",
        "Asks for a coupon; `coupon get REQUEST_ID` shows the outcome.",
        {{"user", true, false, "user asking"}, kRequestId},
        1,
        1},
       Request},
      {{"coupon get",
        "REQUEST_ID [--wait MS]",
        "Shows a coupon request.",
        {{"wait", true, false, "wait up to MS milliseconds for the decision"}},
        1,
        1},
       GetRequest},
      {{"coupon campaign", "CODE", "Shows a campaign: issued and remaining.", {}, 1, 1},
       GetCampaign},
  };
}

}  // namespace surge::cli
