// surge-cli load orders | coupons: a demo load with a live progress bar.
// Workers share one channel and issue blocking calls; the progress bar
// redraws on stderr; a summary (counts, rate, latency percentiles) goes to
// stdout. Ctrl-C stops issuing new requests and still prints the summary.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "clients/cli/command.h"
#include "clients/cli/interrupt.h"
#include "clients/cli/progress.h"
#include "google/protobuf/struct.pb.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::cli {
namespace {

struct LoadPlan {
  int64_t count = 0;
  int64_t concurrency = 8;
  // Issues request number i; returns its status.
  std::function<grpc::Status(int64_t i)> call;
};

// Results shared by the workers.
class Tally {
 public:
  void Record(const grpc::Status& status, absl::Duration latency) {
    absl::MutexLock lock(&mu_);
    latencies_.push_back(latency);
    if (status.ok()) return;
    ++errors_[StatusCodeName(status.error_code())];
    if (first_error_.ok()) first_error_ = status;
  }

  // Summary key/values, in display order.
  KeyValues Summarize(absl::Duration elapsed, bool interrupted) {
    absl::MutexLock lock(&mu_);
    std::sort(latencies_.begin(), latencies_.end());
    auto pct = [&](double p) {
      if (latencies_.empty()) return std::string("-");
      size_t idx = static_cast<size_t>(p * (latencies_.size() - 1) + 0.5);
      return absl::StrFormat("%.2fms", absl::ToDoubleMilliseconds(latencies_[idx]));
    };
    int64_t failed = 0;
    for (const auto& [code, n] : errors_) failed += n;
    const int64_t done = static_cast<int64_t>(latencies_.size());
    const double secs = std::max(absl::ToDoubleSeconds(elapsed), 1e-9);
    KeyValues kv = {
        {"requests", absl::StrCat(done)},
        {"succeeded", absl::StrCat(done - failed)},
        {"failed", absl::StrCat(failed)},
        {"interrupted", interrupted ? "true" : "false"},
        {"elapsed_s", absl::StrFormat("%.3f", secs)},
        {"rate_per_s", absl::StrFormat("%.1f", done / secs)},
        {"latency_p50", pct(0.50)},
        {"latency_p90", pct(0.90)},
        {"latency_p99", pct(0.99)},
        {"latency_max", pct(1.0)},
    };
    for (const auto& [code, n] : errors_) kv.emplace_back("errors." + code, absl::StrCat(n));
    return kv;
  }

  int64_t failed() {
    absl::MutexLock lock(&mu_);
    int64_t n = 0;
    for (const auto& [code, count] : errors_) n += count;
    return n;
  }
  grpc::Status first_error() {
    absl::MutexLock lock(&mu_);
    return first_error_;
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::Duration> latencies_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> errors_ ABSL_GUARDED_BY(mu_);
  grpc::Status first_error_ ABSL_GUARDED_BY(mu_);
};

int RunLoad(const LoadPlan& plan, CommandEnv& env) {
  Tally tally;
  std::atomic<int64_t> next{0};
  // Set by the signal thread; workers only need to see it eventually.
  std::atomic<bool> stop{false};
  InterruptWatcher::SetHandler([&] { stop.store(true, std::memory_order_relaxed); });
  ProgressBar bar(env.printer.err(), plan.count);
  const absl::Time start = absl::Now();
  bar.Start();
  std::vector<std::thread> workers;
  for (int64_t w = 0; w < plan.concurrency; ++w) {
    workers.emplace_back([&] {
      for (;;) {
        if (stop.load(std::memory_order_relaxed)) return;
        const int64_t i = next.fetch_add(1, std::memory_order_relaxed);
        if (i >= plan.count) return;
        const absl::Time t0 = absl::Now();
        grpc::Status status = plan.call(i);
        tally.Record(status, absl::Now() - t0);
        bar.Add(1);
      }
    });
  }
  for (std::thread& t : workers) t.join();
  bar.Finish();
  InterruptWatcher::SetHandler(nullptr);
  const bool interrupted = stop.load(std::memory_order_relaxed);
  KeyValues summary = tally.Summarize(absl::Now() - start, interrupted);
  if (env.printer.json()) {
    google::protobuf::Struct s;
    for (const auto& [k, v] : summary) (*s.mutable_fields())[k].set_string_value(v);
    env.printer.PrintMessage(s);
  } else {
    env.printer.PrintSummary(summary);
  }
  const int64_t failed = tally.failed();
  if (failed > 0) {
    grpc::Status first = tally.first_error();
    env.printer.err() << "error: " << failed
                      << " requests failed; first: " << StatusCodeName(first.error_code()) << ": "
                      << first.error_message() << "\n";
    return kExitRpcError;
  }
  return kExitOk;
}

// Reads --count and --concurrency; returns a usage message on error.
std::optional<std::string> ReadPlanBasics(const ParsedArgs& args, LoadPlan* plan) {
  if (!args.Has("count")) return "--count is required";
  absl::StatusOr<int64_t> count = args.GetInt("count", 0);
  if (!count.ok()) return std::string(count.status().message());
  absl::StatusOr<int64_t> conc = args.GetInt("concurrency", 8);
  if (!conc.ok()) return std::string(conc.status().message());
  if (*count < 1) return "--count must be >= 1";
  if (*conc < 1 || *conc > 1024) return "--concurrency must be in 1..1024";
  plan->count = *count;
  plan->concurrency = *conc;
  return std::nullopt;
}

int Orders(const ParsedArgs& args, CommandEnv& env) {
  LoadPlan plan;
  if (auto err = ReadPlanBasics(args, &plan)) return UsageError(env, *err);
  absl::StatusOr<int64_t> qty = args.GetInt("quantity", 1);
  absl::StatusOr<int64_t> users = args.GetInt("users", 100);
  if (!qty.ok()) return UsageError(env, std::string(qty.status().message()));
  if (!users.ok()) return UsageError(env, std::string(users.status().message()));
  if (*users < 1) return UsageError(env, "--users must be >= 1");
  const std::string sku = args.GetOr("sku", "load-sku");
  const std::string run = NewRequestId();
  auto stub = std::shared_ptr<surge::v1::OrderService::Stub>(
      surge::v1::OrderService::NewStub(env.connection.channel()));
  const Connection& conn = env.connection;
  const int64_t quantity = *qty, user_count = *users;
  plan.call = [=, &conn](int64_t i) {
    surge::v1::PlaceOrderRequest req;
    req.set_request_id(absl::StrCat(run, "-", i));
    req.set_user_id(absl::StrCat("load-user-", i % user_count));
    auto* line = req.add_lines();
    line->set_sku(sku);
    line->set_quantity(quantity);
    auto ctx = conn.NewContext(absl::ZeroDuration());
    surge::v1::PlaceOrderResponse resp;
    return stub->PlaceOrder(ctx.get(), req, &resp);
  };
  env.printer.err() << "placing " << plan.count << " orders of " << quantity << " x " << sku
                    << " (run " << run << ")\n";
  return RunLoad(plan, env);
}

int Coupons(const ParsedArgs& args, CommandEnv& env) {
  LoadPlan plan;
  if (auto err = ReadPlanBasics(args, &plan)) return UsageError(env, *err);
  std::optional<std::string> code = args.Get("code");
  if (!code.has_value()) return UsageError(env, "--code is required");
  absl::StatusOr<int64_t> users = args.GetInt("users", plan.count);
  if (!users.ok()) return UsageError(env, std::string(users.status().message()));
  if (*users < 1) return UsageError(env, "--users must be >= 1");
  const std::string run = NewRequestId();
  auto stub = std::shared_ptr<surge::v1::CouponService::Stub>(
      surge::v1::CouponService::NewStub(env.connection.channel()));
  const Connection& conn = env.connection;
  const int64_t user_count = *users;
  const std::string campaign = *code;
  plan.call = [=, &conn](int64_t i) {
    surge::v1::RequestCouponRequest req;
    req.set_request_id(absl::StrCat(run, "-", i));
    req.set_user_id(absl::StrCat("load-user-", i % user_count));
    req.set_code(campaign);
    auto ctx = conn.NewContext(absl::ZeroDuration());
    surge::v1::RequestCouponResponse resp;
    return stub->RequestCoupon(ctx.get(), req, &resp);
  };
  env.printer.err() << "requesting " << plan.count << " coupons of " << campaign << " (run " << run
                    << ")\n";
  return RunLoad(plan, env);
}

const FlagSpec kCount{"count", true, false, "requests to send"};
const FlagSpec kConcurrency{"concurrency", true, false, "requests in flight (default 8)"};

}  // namespace

std::vector<Command> LoadCommands() {
  return {
      {{"load orders",
        "--count N [--concurrency C] [--sku S] [--quantity Q] [--users U]",
        "Places N orders (one line each) and reports rate and latency.",
        {kCount,
         kConcurrency,
         {"sku", true, false, "SKU ordered (default load-sku)"},
         {"quantity", true, false, "units per order (default 1)"},
         {"users", true, false, "distinct users cycled through (default 100)"}},
        0,
        0},
       Orders},
      {{"load coupons",
        "--count N --code CODE [--concurrency C] [--users U]",
        "Sends N coupon requests for a campaign and reports rate and latency.",
        {kCount,
         kConcurrency,
         {"code", true, false, "campaign code"},
         {"users", true, false, "distinct users cycled through (default N)"}},
        0,
        0},
       Coupons},
  };
}

}  // namespace surge::cli
