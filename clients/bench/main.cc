// surge-bench: a load generator for surge-server that reports accepted
// throughput, accept and settle latency percentiles, errors by status code,
// and checks the scenario's invariants in the log at the end.
//
//   surge-bench --target=127.0.0.1:50051 --scenario=flash-sale --requests=100000 \
//               --coupons=1000 --users=50000 --concurrency=64 --json=out.json
//
// Exit status: 0 when the run completed and its invariants hold; 1 on a usage
// or setup error; 2 when an invariant is violated, or for an unknown flag
// (one line on stderr; see common/cli_flags.h for --help and --version).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "clients/bench/load_driver.h"
#include "clients/bench/report.h"
#include "clients/bench/scenario.h"
#include "clients/bench/settle_tracker.h"
#include "common/cli_flags.h"
#include "common/grpc_code_name.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "surge-server gRPC address");
ABSL_FLAG(std::string, scenario, "orders", "noop | orders | flash-sale | mixed");
ABSL_FLAG(int, concurrency, 64, "calls in flight (closed loop) or at most in flight (open)");
ABSL_FLAG(double, rate, 0, "open loop: calls started per second (0 = closed loop)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured phase (unless --requests)");
ABSL_FLAG(int64_t, requests, 0, "measured calls (0 = use --duration)");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "warm-up, excluded from the figures");
ABSL_FLAG(absl::Duration, refused_backoff, absl::Milliseconds(10),
          "closed loop: how long a slot waits after RESOURCE_EXHAUSTED before its next call "
          "(a client honouring the server's push-back); 0 = at once");
ABSL_FLAG(int64_t, users, 50'000, "distinct users");
ABSL_FLAG(int64_t, coupons, 1'000, "flash-sale campaign quantity");
ABSL_FLAG(int64_t, skus, 100, "SKUs ordered from");
ABSL_FLAG(int64_t, initial_stock, 1'000'000, "stock per SKU at setup");
ABSL_FLAG(uint64_t, seed, 1, "seed of the random choices");
ABSL_FLAG(std::string, run_id, "", "prefix of every id (default: bench-<unix ms>)");
ABSL_FLAG(absl::Duration, settle_timeout, absl::Seconds(30),
          "how long to wait for every decision and for the invariants to hold");
ABSL_FLAG(bool, settle, true,
          "measure settle latency and check the invariants (false: accept side only, "
          "e.g. to measure the command path alone)");
ABSL_FLAG(bool, setup_wait, false,
          "with --settle=false: setup still waits until the projections show it (e.g. to "
          "measure the server's CPU per command on the decided path)");
ABSL_FLAG(std::string, admin_token_file, "", "file holding the admin bearer token");
ABSL_FLAG(std::string, json, "", "also write the report as JSON to this file");
ABSL_FLAG(bool, smoke, false, "a few seconds with tiny counts (keeps the tool working)");

namespace surge::bench {
namespace {

std::string CodeName(int code) { return GrpcCodeName(code); }

absl::StatusOr<uint64_t> HeadPosition(BenchClient& client) {
  grpc::ClientContext context;
  client.Prepare(&context, /*admin=*/false);
  v1::ReadAllRequest request;
  request.set_from_position(1);
  request.set_max_count(1);
  v1::ReadAllResponse response;
  grpc::Status status = client.events->ReadAll(&context, request, &response);
  if (!status.ok()) return absl::UnavailableError("ReadAll: " + status.error_message());
  return response.head_position();
}

// Reads the log from `from` to its head into a fresh check, retrying until
// the invariants hold or `deadline` (the projections may still be settling).
absl::Status CheckLog(BenchClient& client, Scenario& scenario, uint64_t from, absl::Time deadline,
                      std::string* summary) {
  while (true) {
    std::unique_ptr<LogCheck> check = scenario.NewCheck();
    uint64_t position = from;
    absl::Status read_status;
    while (true) {
      grpc::ClientContext context;
      client.Prepare(&context, /*admin=*/false);
      v1::ReadAllRequest request;
      request.set_from_position(position);
      request.set_max_count(1000);
      v1::ReadAllResponse response;
      grpc::Status status = client.events->ReadAll(&context, request, &response);
      if (!status.ok()) {
        read_status = absl::UnavailableError("ReadAll: " + status.error_message());
        break;
      }
      for (const auto& e : response.events()) check->Observe(e);
      if (response.events().empty() || response.next_position() <= position) break;
      position = response.next_position();
    }
    absl::Status status = read_status.ok() ? check->Finish(summary) : read_status;
    if (status.ok() || absl::Now() > deadline) {
      if (!status.ok()) *summary = std::string(status.message());
      return status;
    }
    absl::SleepFor(absl::Milliseconds(200));  // verification only, not measured
  }
}

// Fills the decided-throughput figures of `report` from the decision times
// the tracker saw and the load's measured window.
void DecidedThroughput(const SettleTracker& tracker, const LoadResult& load, Report* report) {
  const std::vector<absl::Time> measured = tracker.measured_decision_times();
  report->decided = measured.size();
  absl::Time last = load.last_answer;
  for (absl::Time t : measured) last = std::max(last, t);
  const double span = absl::ToDoubleSeconds(last - load.measured_start);
  report->decided_per_second = span > 0 ? measured.size() / span : 0;
  for (absl::Time t : measured) {
    const int64_t second = std::max<int64_t>(0, absl::ToInt64Seconds(t - load.measured_start));
    if (report->decided_per_second_timeline.size() <= static_cast<size_t>(second)) {
      report->decided_per_second_timeline.resize(second + 1, 0);
    }
    ++report->decided_per_second_timeline[second];
  }
  uint64_t during = 0;
  for (absl::Time t : tracker.decision_times()) {
    during += t >= load.measured_start && t <= load.last_answer;
  }
  const double elapsed = absl::ToDoubleSeconds(load.last_answer - load.measured_start);
  report->decided_during_load_per_second = elapsed > 0 ? during / elapsed : 0;
}

std::string ReadToken(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return std::string(absl::StripAsciiWhitespace(token));
}

int Main() {
  ScenarioOptions so;
  so.run_id = absl::GetFlag(FLAGS_run_id);
  if (so.run_id.empty()) so.run_id = absl::StrCat("bench-", absl::ToUnixMillis(absl::Now()));
  so.seed = absl::GetFlag(FLAGS_seed);
  so.users = absl::GetFlag(FLAGS_users);
  so.coupons = absl::GetFlag(FLAGS_coupons);
  so.skus = absl::GetFlag(FLAGS_skus);
  so.initial_stock = absl::GetFlag(FLAGS_initial_stock);
  const bool settle = absl::GetFlag(FLAGS_settle);
  so.wait_ready = settle || absl::GetFlag(FLAGS_setup_wait);
  LoadOptions lo;
  lo.concurrency = absl::GetFlag(FLAGS_concurrency);
  lo.rate = absl::GetFlag(FLAGS_rate);
  lo.duration = absl::GetFlag(FLAGS_duration);
  lo.requests = absl::GetFlag(FLAGS_requests);
  lo.warmup = absl::GetFlag(FLAGS_warmup);
  lo.refused_backoff = absl::GetFlag(FLAGS_refused_backoff);
  if (absl::GetFlag(FLAGS_smoke)) {
    lo.concurrency = std::min(lo.concurrency, 8);
    lo.warmup = absl::Milliseconds(100);
    lo.duration = absl::Seconds(2);
    if (lo.requests > 200 || lo.requests == 0) lo.requests = 200;
    so.users = std::min<int64_t>(so.users, 100);
    so.coupons = std::min<int64_t>(so.coupons, 20);
    so.skus = std::min<int64_t>(so.skus, 5);
    so.initial_stock = std::min<int64_t>(so.initial_stock, 10'000);
  }
  if (lo.concurrency < 1 || so.users < 1 || so.coupons < 1 || so.skus < 1 || lo.rate < 0) {
    std::cerr << "surge-bench: --concurrency, --users, --coupons, --skus must be >= 1\n";
    return 1;
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  BenchClient client(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target),
                                               grpc::InsecureChannelCredentials(), args));
  client.admin_token = ReadToken(absl::GetFlag(FLAGS_admin_token_file));
  if (!client.channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
    std::cerr << "surge-bench: cannot connect to " << absl::GetFlag(FLAGS_target) << "\n";
    return 1;
  }

  auto tracker = std::make_unique<SettleTracker>();
  const std::string scenario_name = absl::GetFlag(FLAGS_scenario);
  auto scenario = MakeScenario(scenario_name, so, &client, tracker.get());
  if (!scenario.ok()) {
    std::cerr << "surge-bench: " << scenario.status().message() << "\n";
    return 1;
  }
  if (absl::Status s = (*scenario)->Setup(); !s.ok()) {
    std::cerr << "surge-bench: setup: " << s << "\n";
    return 1;
  }
  const bool settles = settle && (*scenario)->settles();
  uint64_t from = 0;
  if (settles) {
    auto head = HeadPosition(client);
    if (!head.ok()) {
      std::cerr << "surge-bench: " << head.status() << "\n";
      return 1;
    }
    from = *head + 1;
    tracker->Start(client.events.get(), from);
  }

  LoadDriver driver(lo);
  LoadResult load = driver.Run([&](uint64_t index, bool measured, LoadDriver::Done done) {
    (*scenario)->Start(index, measured, std::move(done));
  });

  Report report;
  report.scenario = scenario_name;
  report.mode = lo.rate > 0 ? "open" : "closed";
  report.concurrency = lo.concurrency;
  report.rate = lo.rate;
  report.seconds = absl::ToDoubleSeconds(load.elapsed);
  report.accepted = load.ok;
  report.accepted_per_second = report.seconds > 0 ? load.ok / report.seconds : 0;
  for (const auto& [code, n] : load.errors) report.errors[CodeName(code)] = n;
  report.accept = Summarize(*load.latency_ns);
  report.accepted_per_second_timeline = load.ok_per_second;

  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_settle_timeout);
  if (settles) {
    const bool all = tracker->WaitAllDecided(deadline);
    report.undecided = tracker->undecided();
    report.drain_ms = absl::ToDoubleMilliseconds(tracker->drain());
    if (auto error = tracker->stream_error()) {
      report.settle_error = absl::StrCat("Subscribe ended: ", CodeName(error->error_code()), " ",
                                         error->error_message());
    } else if (!all) {
      report.settle_error = absl::StrCat(report.undecided, " accepted commands undecided after ",
                                         absl::FormatDuration(absl::GetFlag(FLAGS_settle_timeout)));
    }
    tracker->Stop();
    report.settle = Summarize(tracker->latency_ns());
    if (tracker->server_latency_ns().count() > 0) {
      report.settle_server = Summarize(tracker->server_latency_ns());
    }
    DecidedThroughput(*tracker, load, &report);
  }
  std::string summary = "skipped (--settle=false)";
  absl::Status check = absl::OkStatus();
  if (settles) {
    check = CheckLog(client, **scenario, from, deadline, &summary);
  } else if (settle) {
    // A scenario that settles nothing wrote nothing to check: reading the
    // whole log from 0 (seconds on a 1M-event log) would only delay the exit.
    check = (*scenario)->NewCheck()->Finish(&summary);
  }
  report.check_ok = check.ok();
  report.check = summary;

  std::cout << FormatTable(report) << std::flush;
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    std::ofstream out(path);
    out << FormatJson(report);
    if (!out) {
      std::cerr << "surge-bench: cannot write " << path << "\n";
      return 1;
    }
  }
  if (!report.check_ok) {
    std::cerr << "\n*** surge-bench: INVARIANT VIOLATED in scenario " << scenario_name << ": "
              << summary << " ***\n";
    return 2;
  }
  if (report.accepted == 0) {
    std::cerr << "surge-bench: no call was accepted\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace surge::bench

int main(int argc, char** argv) {
  // --help, --version and unknown flags (exit 2) as common/cli_flags.h says.
  surge::ParseCliFlags(argc, argv,
                       {"surge-bench",
                        "load generator for surge-server (closed or open loop, settle latency, "
                        "invariant checks).\n"
                        "  surge-bench --target=127.0.0.1:50051 --scenario=orders --duration=10s",
                        {"clients/bench/main.cc"}});
  return surge::bench::Main();
}
