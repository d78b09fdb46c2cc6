// surge-crashloop: drives mixed load against a real surge-server, SIGKILLs
// it at random moments, restarts it on the same data dir, and at the end
// checks every invariant of ARCHITECTURE.md §2 from the clients' own records, the log
// and the read models. Exits non-zero on any violation.
//
//   surge-crashloop --cycles=10 --seed=42 --report=/tmp/crashloop.md
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <grpcpp/client_context.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "surge/v1/surge.grpc.pb.h"
#include "tests/crashloop/endpoint.h"
#include "tests/crashloop/invariants.h"
#include "tests/crashloop/sender.h"
#include "tests/crashloop/summary.h"
#include "tests/crashloop/workload.h"
#include "tests/support/server_process.h"

ABSL_FLAG(int, cycles, 10, "Kill/restart cycles to survive.");
ABSL_FLAG(uint64_t, seed, 0, "Seed of the kill schedule and the workload; 0 = from the clock.");
ABSL_FLAG(int, threads, 6, "Client threads sending commands.");
ABSL_FLAG(int, time_limit_s, 600,
          "Bound on the load phase; fewer cycles than --cycles by then is a failure.");
ABSL_FLAG(int, min_run_ms, 200, "Shortest load between a restart and the next kill.");
ABSL_FLAG(int, max_run_ms, 1500, "Longest load between a restart and the next kill.");
ABSL_FLAG(int, max_down_ms, 200, "Longest pause between a kill and the restart.");
ABSL_FLAG(int, settle_timeout_s, 60,
          "Bound on waiting, after the load, for the read models to match the log.");
ABSL_FLAG(std::string, report, "", "Write a markdown section with the figures to this file.");
ABSL_FLAG(bool, keep_dir, false, "Keep the server's data dir and log.");

namespace surge::crashloop {
namespace {

using testing::ServerProcess;

std::unique_ptr<grpc::ClientContext> Deadline(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

absl::StatusOr<std::vector<v1::Event>> ReadAll(ServerProcess& server) {
  std::vector<v1::Event> events;
  uint64_t from = 1;
  auto stub = server.EventStore();
  while (true) {
    v1::ReadAllRequest request;
    request.set_from_position(from);
    request.set_max_count(1000);
    v1::ReadAllResponse response;
    grpc::Status status = stub->ReadAll(Deadline(absl::Seconds(20)).get(), request, &response);
    if (!status.ok()) return absl::UnavailableError(absl::StrCat("ReadAll: ", status.error_message()));
    if (response.events().empty()) return events;
    for (const v1::Event& e : response.events()) events.push_back(e);
    from = response.next_position();
  }
}

// Asks the query side for every row the replay holds; `wait` lets orders and
// coupon requests settle (served by notification, not polling).
ReadModelSnapshot Snapshot(ServerProcess& server, const Replay& replay, absl::Duration wait) {
  ReadModelSnapshot snapshot;
  auto orders = server.Orders();
  auto inventory = server.Inventory();
  auto coupons = server.Coupons();
  const absl::Duration call = wait + absl::Seconds(10);
  for (const auto& [order_id, status] : replay.orders) {
    v1::GetOrderRequest request;
    request.set_order_id(order_id);
    request.set_wait_for_settlement_ms(absl::ToInt64Milliseconds(wait));
    v1::Order order;
    if (orders->GetOrder(Deadline(call).get(), request, &order).ok()) {
      snapshot.orders[order_id] = order;
    }
  }
  for (const auto& [sku, row] : replay.stock) {
    v1::GetStockRequest request;
    request.set_sku(sku);
    v1::Stock stock;
    if (inventory->GetStock(Deadline(call).get(), request, &stock).ok()) snapshot.stock[sku] = stock;
  }
  for (const auto& [code, row] : replay.campaigns) {
    v1::GetCampaignRequest request;
    request.set_code(code);
    v1::Campaign campaign;
    if (coupons->GetCampaign(Deadline(call).get(), request, &campaign).ok()) {
      snapshot.campaigns[code] = campaign;
    }
  }
  for (const auto& [request_id, status] : replay.coupon_requests) {
    v1::GetCouponRequestRequest request;
    request.set_request_id(request_id);
    request.set_wait_for_settlement_ms(absl::ToInt64Milliseconds(wait));
    v1::CouponRequest answer;
    if (coupons->GetCouponRequest(Deadline(call).get(), request, &answer).ok()) {
      snapshot.coupon_requests[request_id] = answer;
    }
  }
  return snapshot;
}

// One complete check of the invariants against the server as it is now.
InvariantReport Verify(ServerProcess& server, const std::vector<CommandRecord>& records,
                       absl::Duration wait, Summary* summary) {
  InvariantReport report;
  absl::StatusOr<std::vector<v1::Event>> log = ReadAll(server);
  if (!log.ok()) {
    report.Check(kProjectionsReplay, false, std::string(log.status().message()));
    return report;
  }
  Replay replay = ReplayLog(*log);
  ReadModelSnapshot snapshot = Snapshot(server, replay, wait);
  // The log again, now that the waits have let the flows settle, so the
  // replay holds at least what the snapshot reflects.
  log = ReadAll(server);
  if (!log.ok()) {
    report.Check(kProjectionsReplay, false, std::string(log.status().message()));
    return report;
  }
  replay = ReplayLog(*log);
  CheckLog(records, *log, replay, &report);
  CheckProjections(replay, snapshot, &report);
  summary->log_events = static_cast<int64_t>(log->size());
  summary->orders_confirmed = summary->orders_cancelled = summary->coupons_issued = 0;
  for (const auto& [id, status] : replay.orders) {
    if (status == v1::ORDER_STATUS_CONFIRMED) ++summary->orders_confirmed;
    if (status == v1::ORDER_STATUS_CANCELLED) ++summary->orders_cancelled;
  }
  for (const auto& [code, row] : replay.campaigns) summary->coupons_issued += row.issued;
  return report;
}

int Run(const std::string& command_line) {
  const absl::Time started = absl::Now();
  Summary summary;
  summary.seed = absl::GetFlag(FLAGS_seed);
  if (summary.seed == 0) summary.seed = static_cast<uint64_t>(absl::ToUnixNanos(started)) % 1000000007;
  summary.threads = absl::GetFlag(FLAGS_threads);
  summary.cycles_requested = absl::GetFlag(FLAGS_cycles);
  std::printf("surge-crashloop: seed=%llu cycles=%d threads=%d (rerun with --seed=%llu)\n",
              static_cast<unsigned long long>(summary.seed), summary.cycles_requested,
              summary.threads, static_cast<unsigned long long>(summary.seed));
  std::fflush(stdout);

  ServerProcess::Options server_options;
  server_options.keep_dir = absl::GetFlag(FLAGS_keep_dir);
  auto started_server = ServerProcess::Start(server_options);
  if (!started_server.ok()) {
    std::fprintf(stderr, "FATAL: surge-server did not start: %s\n",
                 std::string(started_server.status().message()).c_str());
    return 2;
  }
  std::unique_ptr<ServerProcess> server = *std::move(started_server);
  std::printf("server data dir %s, log %s\n", server->data_dir().c_str(), server->log_path().c_str());

  Endpoint endpoint;
  endpoint.Publish(server->address());
  const SenderOptions sender_options;
  const WorkloadOptions workload_options;

  std::vector<CommandRecord> setup;
  for (Command& command : Workload::Setup(workload_options)) {
    CommandRecord& record = setup.emplace_back();
    record.command = std::move(command);
    SendUntilAnswered(endpoint, sender_options, &record);
    if (!record.acknowledged) {
      std::fprintf(stderr, "FATAL: setup command %s failed: %s\n", record.command.request_id.c_str(),
                   record.last_error.c_str());
      return 2;
    }
  }

  // The load: each thread keeps its own records (read after join).
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acks{0};
  std::vector<std::vector<CommandRecord>> per_thread(summary.threads);
  std::vector<std::thread> clients;
  for (int t = 0; t < summary.threads; ++t) {
    clients.emplace_back([&, t] {
      Workload workload(workload_options, summary.seed, t);
      while (!stop.load(std::memory_order_relaxed)) {
        CommandRecord& record = per_thread[t].emplace_back();
        record.command = workload.Next();
        SendUntilAnswered(endpoint, sender_options, &record);
        if (record.acknowledged) acks.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }

  // The faults: SIGKILL at a random moment, a random pause, restart.
  std::mt19937_64 rng(summary.seed);
  const absl::Time load_deadline = started + absl::Seconds(absl::GetFlag(FLAGS_time_limit_s));
  auto uniform_ms = [&](int lo, int hi) {
    return absl::Milliseconds(std::uniform_int_distribution<int>(lo, std::max(lo, hi))(rng));
  };
  for (int cycle = 1; cycle <= summary.cycles_requested; ++cycle) {
    absl::SleepFor(uniform_ms(absl::GetFlag(FLAGS_min_run_ms), absl::GetFlag(FLAGS_max_run_ms)));
    if (absl::Now() > load_deadline) {
      summary.notes.push_back(absl::StrCat("time limit reached after ", summary.cycles_survived,
                                           " of ", summary.cycles_requested, " cycles"));
      break;
    }
    endpoint.MarkDown();
    server->Kill();
    ++summary.kills;
    const int64_t acked_at_kill = acks.load();
    absl::SleepFor(uniform_ms(0, absl::GetFlag(FLAGS_max_down_ms)));
    const absl::Time restart = absl::Now();
    if (absl::Status s = server->Restart(); !s.ok()) {
      summary.notes.push_back(absl::StrCat("restart ", cycle, " failed: ", s.message()));
      break;
    }
    const absl::Duration took = absl::Now() - restart;
    endpoint.Publish(server->address());
    ++summary.cycles_survived;
    summary.restart_min = std::min(summary.restart_min, took);
    summary.restart_max = std::max(summary.restart_max, took);
    summary.restart_total += took;
    std::printf("cycle %d/%d: killed with %lld acknowledged so far; serving again after %s\n",
                cycle, summary.cycles_requested, static_cast<long long>(acked_at_kill),
                absl::FormatDuration(took).c_str());
    std::fflush(stdout);
  }
  // A last stretch of load on the final server, so the flows cut by the
  // last kill are retried and finish.
  absl::SleepFor(absl::Milliseconds(absl::GetFlag(FLAGS_min_run_ms)));
  stop = true;
  for (std::thread& client : clients) client.join();

  std::vector<CommandRecord> records = std::move(setup);
  for (auto& mine : per_thread) {
    for (CommandRecord& r : mine) records.push_back(std::move(r));
  }
  Tally(records, &summary);

  // Verify; the projections may still be catching up after the last
  // restart, so a mismatch is re-checked until the settle bound.
  const absl::Time settle_deadline =
      absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_settle_timeout_s));
  InvariantReport report = Verify(*server, records, absl::Seconds(20), &summary);
  while (!report.ok() && absl::Now() < settle_deadline) {
    absl::SleepFor(absl::Seconds(1));
    report = Verify(*server, records, absl::Seconds(1), &summary);
  }
  summary.wall_time = absl::Now() - started;

  std::printf("%s", SummaryTable(summary, report).c_str());
  if (!report.ok()) {
    std::printf("server log tail:\n%s\n", server->LogTail(30).c_str());
  }
  const std::string report_path = absl::GetFlag(FLAGS_report);
  if (!report_path.empty()) {
    std::ofstream out(report_path);
    out << MarkdownReport(summary, report, command_line);
    if (!out) std::fprintf(stderr, "cannot write %s\n", report_path.c_str());
  }
  if (!report.ok() || !summary.notes.empty()) {
    std::fprintf(stderr, "\n*** surge-crashloop FAILED: %lld invariant violation(s), %zu fatal "
                 "note(s); seed %llu ***\n",
                 static_cast<long long>(report.violation_count()), summary.notes.size(),
                 static_cast<unsigned long long>(summary.seed));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace surge::crashloop

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  args[0] = "surge-crashloop";
  absl::ParseCommandLine(argc, argv);
  return surge::crashloop::Run(absl::StrJoin(args, " "));
}
