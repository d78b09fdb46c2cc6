// surge-cluster-crashloop: the cluster's crash loop (issue 24). N surge-server
// nodes in cluster mode on one surge-kafka-dev broker take mixed load (orders
// on plentiful and scarce SKUs, coupon requests on three campaigns) from
// clients that retry the same request_id on another node when a node fails
// or times out. Every few seconds a random node suffers a random fault drawn
// from the seed:
//
//   kill   SIGKILL, down 1-8 s, restart on its data dir
//   pause  SIGSTOP for 1-10 s past the session timeout (the group moves its
//          partitions away), then SIGCONT: a zombie that wakes up with stale
//          ownership, often after its successor has decided
//   term   SIGTERM (LeaveGroup, clean shutdown), down 1-4 s, rejoin
//   wipe   SIGKILL, its data dir deleted, restart empty (only with
//          --ack=kafka, where no acknowledged command lives only on a disk)
//
// Faults pile up: the next one may come while the group still rebalances
// after the last. When the cycles are done every node is brought back, the
// load stops, and the run checks
//   - liveness: every acknowledged command is decided and read as decided on
//     every node within --liveness_s of the last fault;
//   - safety: the cluster checker (checker.h) over the union of every node's
//     log and the Kafka topics, the read models of every node, and a replay.
// Exits non-zero on any violation; the same --seed replays the same schedule
// and the same commands.
//
//   surge-cluster-crashloop --seed=7 --cycles=20 --report=/tmp/cluster-loop.md
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/cluster/checker.h"
#include "tests/cluster/cluster.h"
#include "tests/cluster/kafka_reader.h"
#include "tests/cluster/kafka_tap.h"
#include "tests/cluster/load.h"
#include "tests/cluster/rpc.h"

ABSL_FLAG(uint64_t, seed, 0, "Seed of the fault schedule and the commands; 0 = from the clock.");
ABSL_FLAG(int, cycles, 6, "Faults to inject (one per cycle).");
ABSL_FLAG(int, nodes, 3, "Nodes in the cluster.");
ABSL_FLAG(int, partitions, 6, "Partitions of every topic.");
ABSL_FLAG(int, session_timeout_ms, 6000, "The nodes' --cluster_session_timeout_ms.");
ABSL_FLAG(std::string, ack, "log", "The nodes' --ack: log or kafka (kafka adds the wipe fault).");
ABSL_FLAG(std::string, faults, "kill,pause,term,wipe",
          "Fault kinds to draw from (wipe only applies with --ack=kafka).");
ABSL_FLAG(int, min_gap_ms, 3000, "Shortest time from the end of one fault to the next.");
ABSL_FLAG(int, max_gap_ms, 9000, "Longest time from the end of one fault to the next.");
ABSL_FLAG(int, threads, 8, "Client threads.");
ABSL_FLAG(double, rate, 150,
          "Commands offered per second (half orders, half coupon requests); 0: a closed loop, "
          "each client thread sends its next command when the last is answered.");
ABSL_FLAG(int, liveness_s, 300,
          "Bound on every acknowledged command being decided on every node after the last "
          "fault.");
ABSL_FLAG(int, time_limit_s, 1800, "Bound on the fault phase; fewer cycles by then fails.");
ABSL_FLAG(std::string, report, "", "Write a markdown section with the figures to this file.");

namespace surge::cluster_test {
namespace {

constexpr int kSkus = 6;
constexpr int kScarceSku = 5;  // restocked with little: orders on it get cancelled
constexpr int64_t kPlentiful = 1000000;
constexpr int64_t kScarce = 300;
constexpr int kUsers = 3000;

struct CampaignSpec {
  const char* code;
  int64_t quantity;
  int64_t per_user_limit;
};
// One that sells out early, one that sells out during a long run, one that
// keeps issuing: rejections (SOLD_OUT, LIMIT_REACHED) and issues all along.
constexpr CampaignSpec kCampaigns[] = {
    {"LOOP-A", 150, 1}, {"LOOP-B", 2000, 2}, {"LOOP-C", 1000000, 1}};

std::string Sku(int i) { return absl::StrCat("loop-sku-", i); }

// Command `index` of the run: a pure function of (seed, index), so a seed
// replays the same commands.
LoadCommand MakeCommand(uint64_t seed, int64_t index) {
  std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(index));
  LoadCommand c;
  c.user_id = absl::StrCat("lu-", rng() % kUsers);
  c.request_id = absl::StrCat("loop-", seed, "-", index);
  if (index % 2 == 0) {
    c.kind = LoadCommand::Kind::kRequestCoupon;
    c.code = kCampaigns[rng() % std::size(kCampaigns)].code;
  } else {
    c.kind = LoadCommand::Kind::kPlaceOrder;
    c.sku = Sku(static_cast<int>(rng() % kSkus));
    c.quantity = 1 + static_cast<int64_t>(rng() % 3);
  }
  return c;
}

struct FaultRecord {
  int cycle = 0;
  std::string kind;
  std::string node;
  absl::Duration down;
  absl::Duration back_in;  // restart (or SIGCONT) to serving
  int64_t acked_before = 0;
};

// What the nodes counted, scraped from /metrics before each fault (a
// restarted node's counters start again) and at the end.
struct Counters {
  double restores = 0;
  double restore_seconds = 0;
  double restores_over_1s = 0;
  double rebalances = 0;
  double relay_rewinds = 0;
  double gaps = 0;
  // Owned partitions refused because their changelog lost its first
  // records to retention (read at the end only: a gauge).
  double blocked = 0;

  void Add(const std::string& body) {
    restores += MetricSum(body, "surge_cluster_restore_seconds_count");
    restore_seconds += MetricSum(body, "surge_cluster_restore_seconds_sum");
    restores_over_1s += MetricSum(body, "surge_cluster_restore_seconds_count") -
                        MetricSumWhere(body, "surge_cluster_restore_seconds_bucket", "le", "1");
    rebalances += MetricSum(body, "surge_cluster_rebalances_total");
    relay_rewinds += MetricSum(body, "surge_relay_rewinds_total");
    gaps += MetricSum(body, "surge_cluster_gaps_total");
  }
};

struct RunFigures {
  uint64_t seed = 0;
  int cycles_done = 0;
  std::vector<FaultRecord> faults;
  std::string load;
  int64_t sent = 0, acked = 0, multi_node = 0, never_acked = 0;
  absl::Duration liveness;    // last fault over -> every acknowledged command decided everywhere
  absl::Duration checked_in;  // last fault over -> settled twice in a row and checked
  std::string settle_note;
  std::string collected;
  absl::Duration wall;
  std::vector<std::string> notes;  // fatal problems outside the checker
  Counters counters;
};

absl::Status Setup(Cluster& cluster) {
  std::vector<int> all;
  for (int i = 0; i < cluster.size(); ++i) all.push_back(i);
  if (absl::Status s =
          cluster.WaitAllPartitionsOwned({all.begin(), all.end()}, false, absl::Seconds(120));
      !s.ok()) {
    return s;
  }
  for (int k = 0; k < kSkus; ++k) {
    absl::Status s =
        rpc::AdjustStock(cluster.Channel(k % cluster.size()), absl::StrCat("loop-restock-", k),
                         Sku(k), k == kScarceSku ? kScarce : kPlentiful);
    if (!s.ok()) return s;
  }
  for (const CampaignSpec& c : kCampaigns) {
    absl::Status s = rpc::CreateCampaign(cluster.Channel(0), absl::StrCat("loop-create-", c.code),
                                         c.code, c.quantity, c.per_user_limit);
    if (!s.ok()) return s;
  }
  // A node accepts RequestCoupon only for a campaign its read model holds.
  return rpc::WaitFor(
      "every campaign visible on every node", absl::Seconds(60), [&](std::string* detail) {
        for (int i : all) {
          for (const CampaignSpec& c : kCampaigns) {
            auto got = rpc::GetCampaign(cluster.Channel(i), c.code);
            if (!got.ok()) {
              *detail =
                  absl::StrCat(cluster.node_id(i), " ", c.code, ": ", got.status().ToString());
              return false;
            }
          }
        }
        return true;
      });
}

// Injects one fault on node `victim` and brings it back. The pauses between
// the signals are the fault itself (how long a node stays down), drawn from
// the seed, not synchronisation.
absl::Status InjectFault(Cluster& cluster, LoadRunner& load, int victim, const std::string& kind,
                         std::mt19937_64& rng, int session_timeout_ms, FaultRecord* record) {
  auto ms = [&](int lo, int hi) {
    return absl::Milliseconds(std::uniform_int_distribution<int>(lo, hi)(rng));
  };
  record->kind = kind;
  record->node = cluster.node_id(victim);
  if (kind == "pause") {
    // Past the session timeout, and often past the rebalance that follows
    // (about another session timeout on the dev broker) and the new owner's
    // first changelog record: the woken node then finishes the batch it was
    // stopped in as a zombie, after its successor wrote from the same base.
    record->down = absl::Milliseconds(session_timeout_ms) + ms(1000, 10000);
    if (absl::Status s = cluster.Stop(victim); !s.ok()) return s;
    absl::SleepFor(record->down);
    const absl::Time woke = absl::Now();
    if (absl::Status s = cluster.Cont(victim); !s.ok()) return s;
    record->back_in = absl::Now() - woke;
    return absl::OkStatus();
  }
  if (kind == "term") {
    absl::StatusOr<int> code = cluster.Terminate(victim);
    if (!code.ok()) return code.status();
    if (*code != 0) {
      return absl::InternalError(absl::StrCat(record->node, " exited ", *code, " on SIGTERM"));
    }
    record->down = ms(1000, 4000);
  } else {  // kill, wipe
    cluster.Kill(victim);
    record->down = ms(1000, 8000);
    if (kind == "wipe") {
      if (absl::Status s = cluster.WipeDisk(victim); !s.ok()) return s;
    }
  }
  load.RemoveTarget(victim);  // its channel is stale once it restarts
  absl::SleepFor(record->down);
  const absl::Time restart = absl::Now();
  if (absl::Status s = cluster.Restart(victim); !s.ok()) return s;
  record->back_in = absl::Now() - restart;
  load.SetTarget(victim, cluster.Channel(victim));
  return absl::OkStatus();
}

std::string Markdown(const RunFigures& f, const ClusterReport* report,
                     const std::string& command_line) {
  std::map<std::string, int> by_kind;
  for (const FaultRecord& r : f.faults) ++by_kind[r.kind];
  std::vector<std::string> kinds;
  for (const auto& [k, n] : by_kind) kinds.push_back(absl::StrCat(k, " ", n));
  std::string out = absl::StrCat("### seed ", f.seed, "\n\nRun: `", command_line, "`\n\n");
  absl::StrAppend(&out, "| figure | value |\n| --- | --- |\n");
  absl::StrAppend(&out, "| faults injected | ", f.cycles_done, " (", absl::StrJoin(kinds, ", "),
                  ") |\n");
  absl::StrAppend(&out, "| commands sent / acknowledged | ", f.sent, " / ", f.acked, " |\n");
  absl::StrAppend(&out, "| sent to more than one node (same request_id) | ", f.multi_node, " |\n");
  absl::StrAppend(&out, "| never acknowledged (client gave up) | ", f.never_acked, " |\n");
  absl::StrAppend(&out, "| last fault over -> all acknowledged decided on every node | ",
                  absl::FormatDuration(f.liveness), " (read-back rounds included; checks done in ",
                  absl::FormatDuration(f.checked_in), ") |\n");
  absl::StrAppend(&out, "| collected | ", f.collected, " |\n");
  const Counters& c = f.counters;
  absl::StrAppend(&out, "| decider rebalances (all nodes) | ", c.rebalances, " |\n");
  absl::StrAppend(&out, "| partition restores: count, mean, over 1 s | ", c.restores, ", ",
                  c.restores > 0 ? absl::StrFormat("%.3f s", c.restore_seconds / c.restores) : "-",
                  ", ", c.restores_over_1s, " |\n");
  absl::StrAppend(&out, "| relay rewinds (all nodes) | ", c.relay_rewinds, " |\n");
  absl::StrAppend(&out, "| inputs skipped as gaps (all deciders) | ", c.gaps, " |\n");
  absl::StrAppend(&out, "| partitions blocked at the end (changelog retention) | ", c.blocked,
                  " |\n");
  if (report != nullptr) {
    absl::StrAppend(&out, "| invariant checks | ", report->checks(), " |\n");
    absl::StrAppend(&out, "| violations | ", report->violation_count(), " |\n");
  }
  absl::StrAppend(&out, "| wall time | ", absl::FormatDuration(f.wall), " |\n\n");
  absl::StrAppend(&out,
                  "| cycle | fault | node | down | back serving in |\n| ---: | --- | --- | "
                  "---: | ---: |\n");
  for (const FaultRecord& r : f.faults) {
    absl::StrAppend(&out, "| ", r.cycle, " | ", r.kind, " | ", r.node, " | ",
                    absl::FormatDuration(absl::Trunc(r.down, absl::Milliseconds(1))), " | ",
                    absl::FormatDuration(absl::Trunc(r.back_in, absl::Milliseconds(1))), " |\n");
  }
  if (report != nullptr && !report->ok())
    absl::StrAppend(&out, "\n```\n", report->Summary(), "\n```\n");
  for (const std::string& note : f.notes) absl::StrAppend(&out, "\n**", note, "**\n");
  const bool pass = report != nullptr && report->ok() && f.notes.empty();
  absl::StrAppend(&out, "\nVerdict: **", pass ? "PASS" : "FAIL", "**\n");
  return out;
}

int Run(const std::string& command_line) {
  const absl::Time started = absl::Now();
  RunFigures f;
  f.seed = absl::GetFlag(FLAGS_seed);
  if (f.seed == 0) f.seed = static_cast<uint64_t>(absl::ToUnixNanos(started)) % 1000000007;
  const int cycles = absl::GetFlag(FLAGS_cycles);
  const std::string ack = absl::GetFlag(FLAGS_ack);
  if (ack != "log" && ack != "kafka") {
    std::fprintf(stderr, "--ack must be log or kafka\n");
    return 2;
  }
  std::vector<std::string> kinds;
  for (absl::string_view k : absl::StrSplit(absl::GetFlag(FLAGS_faults), ',', absl::SkipEmpty())) {
    if (k != "kill" && k != "pause" && k != "term" && k != "wipe") {
      std::fprintf(stderr, "unknown fault kind '%s' (kill, pause, term, wipe)\n",
                   std::string(k).c_str());
      return 2;
    }
    if (k == "wipe" && ack != "kafka") continue;  // would lose what only that disk held
    kinds.emplace_back(k);
  }
  if (kinds.empty()) {
    std::fprintf(stderr, "no fault kind applies\n");
    return 2;
  }
  std::printf(
      "surge-cluster-crashloop: seed=%llu cycles=%d nodes=%d ack=%s faults=%s "
      "(rerun with --seed=%llu)\n",
      static_cast<unsigned long long>(f.seed), cycles, absl::GetFlag(FLAGS_nodes), ack.c_str(),
      absl::StrJoin(kinds, ",").c_str(), static_cast<unsigned long long>(f.seed));
  std::fflush(stdout);

  Cluster::Options options;
  options.nodes = absl::GetFlag(FLAGS_nodes);
  options.partitions = absl::GetFlag(FLAGS_partitions);
  options.session_timeout_ms = absl::GetFlag(FLAGS_session_timeout_ms);
  options.node_flags = {absl::StrCat("--ack=", ack)};
  absl::StatusOr<std::unique_ptr<Cluster>> started_cluster = Cluster::Start(options);
  if (!started_cluster.ok()) {
    std::fprintf(stderr, "FATAL: cluster did not start: %s\n",
                 started_cluster.status().ToString().c_str());
    return 2;
  }
  Cluster& cluster = **started_cluster;
  // The whole history, read as it is written: the dev broker keeps ~5 MiB a
  // partition, and a wiped node's acknowledged commands are nowhere else.
  KafkaTap tap(cluster.bootstrap(), EventTopicNames());
  if (absl::Status s = tap.Start(); !s.ok()) {
    std::fprintf(stderr, "FATAL: Kafka tap: %s\n", s.ToString().c_str());
    return 2;
  }
  cluster.UseKafkaTap(&tap);
  if (absl::Status s = Setup(cluster); !s.ok()) {
    std::fprintf(stderr, "FATAL: setup: %s\n%s\n", s.ToString().c_str(),
                 cluster.LogTails(30).c_str());
    return 2;
  }

  // Enough commands for the whole run at the offered rate (a closed loop
  // gets a million); Stop() ends it.
  const double rate = absl::GetFlag(FLAGS_rate);
  const int64_t budget =
      rate > 0 ? static_cast<int64_t>(rate * (absl::GetFlag(FLAGS_time_limit_s) + 60)) : 1000000;
  LoadRunner load({.threads = absl::GetFlag(FLAGS_threads),
                   .rate_per_s = absl::GetFlag(FLAGS_rate),
                   .rpc_timeout = absl::Seconds(3),
                   .give_up_after = absl::Seconds(90),
                   .max_attempts = 60},
                  budget, [seed = f.seed](int64_t i) { return MakeCommand(seed, i); });
  for (int i = 0; i < cluster.size(); ++i) load.SetTarget(i, cluster.Channel(i));
  load.Start();

  std::mt19937_64 rng(f.seed);
  const absl::Time fault_deadline = started + absl::Seconds(absl::GetFlag(FLAGS_time_limit_s));
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(
        absl::GetFlag(FLAGS_min_gap_ms), absl::GetFlag(FLAGS_max_gap_ms))(rng)));
    if (absl::Now() > fault_deadline) {
      f.notes.push_back(
          absl::StrCat("time limit reached after ", f.cycles_done, " of ", cycles, " cycles"));
      break;
    }
    const int victim = static_cast<int>(rng() % static_cast<uint64_t>(cluster.size()));
    const std::string kind = kinds[rng() % kinds.size()];
    // A node about to end keeps its counts in the report (a paused one
    // goes on counting and is read at the end).
    if (kind != "pause") {
      if (absl::StatusOr<std::string> body = cluster.Metrics(victim); body.ok()) {
        f.counters.Add(*body);
      }
    }
    FaultRecord& record = f.faults.emplace_back();
    record.cycle = cycle;
    record.acked_before = load.acked();
    absl::Status s = InjectFault(cluster, load, victim, kind, rng,
                                 absl::GetFlag(FLAGS_session_timeout_ms), &record);
    std::printf("cycle %d/%d: %s %s, down %s, serving again after %s; %lld acknowledged so far%s\n",
                cycle, cycles, kind.c_str(), record.node.c_str(),
                absl::FormatDuration(absl::Trunc(record.down, absl::Milliseconds(1))).c_str(),
                absl::FormatDuration(absl::Trunc(record.back_in, absl::Milliseconds(1))).c_str(),
                static_cast<long long>(record.acked_before),
                s.ok() ? "" : absl::StrCat(" FAILED: ", s.ToString()).c_str());
    std::fflush(stdout);
    if (!s.ok()) {
      f.notes.push_back(
          absl::StrCat("cycle ", cycle, ": ", kind, " ", record.node, ": ", s.ToString()));
      break;
    }
    ++f.cycles_done;
  }
  const absl::Time faults_over = absl::Now();
  // A last stretch of load with every node up, so that commands cut by the
  // last fault are retried; then the clients finish what is in flight.
  absl::SleepFor(absl::Seconds(2));
  load.Stop();
  load.Join();
  const std::vector<LoadRecord> records = load.Records();
  f.load = LoadRunner::Describe(records);
  for (const LoadRecord& r : records) {
    ++f.sent;
    f.acked += r.acked;
    f.never_acked += !r.acked;
    std::set<int> nodes(r.tried.begin(), r.tried.end());
    f.multi_node += nodes.size() > 1;
  }
  std::printf("load: %s\n", f.load.c_str());
  std::fflush(stdout);

  // Liveness and safety: settled within the bound, then every invariant.
  std::string why, stats;
  const absl::Duration liveness_bound = absl::Seconds(absl::GetFlag(FLAGS_liveness_s));
  absl::Time settled_at = absl::InfiniteFuture();
  absl::StatusOr<ClusterReport> report = cluster.CheckInvariants(
      LoadRunner::AcknowledgedOf(records), &why,
      std::max(absl::Seconds(10), liveness_bound - (absl::Now() - faults_over)), &stats,
      &settled_at);
  // The first read-back round that found every command decided everywhere
  // (the reads of a round take seconds themselves: an upper bound).
  f.liveness =
      absl::Trunc((settled_at == absl::InfiniteFuture() ? absl::Now() : settled_at) - faults_over,
                  absl::Milliseconds(100));
  f.checked_in = absl::Trunc(absl::Now() - faults_over, absl::Milliseconds(100));
  f.collected = stats;
  if (!why.empty()) {
    f.settle_note = why;
    if (absl::StrContains(why, "did not settle")) {
      f.notes.push_back(absl::StrCat("liveness: not settled within ",
                                     absl::FormatDuration(liveness_bound),
                                     " of the last fault: ", why));
    }
  }
  if (!report.ok()) f.notes.push_back(absl::StrCat("collecting: ", report.status().ToString()));
  for (int i : cluster.up_nodes()) {
    if (absl::StatusOr<std::string> body = cluster.Metrics(i); body.ok()) {
      f.counters.Add(*body);
      f.counters.blocked += MetricSum(*body, "surge_cluster_blocked_partitions");
    }
  }
  if (f.counters.blocked > 0) {
    // Their commands wait for good: the run cannot settle (see README,
    // "a changelog needs unlimited retention").
    f.notes.push_back(absl::StrCat(f.counters.blocked,
                                   " decider partition(s) blocked at the end: their changelog lost "
                                   "its first records to the dev broker's retention"));
  }
  f.wall = absl::Trunc(absl::Now() - started, absl::Milliseconds(100));

  const ClusterReport* checked = report.ok() ? &*report : nullptr;
  const std::string md = Markdown(f, checked, command_line);
  std::printf("%s", md.c_str());
  const bool pass = checked != nullptr && checked->ok() && f.notes.empty();
  if (!pass) {
    std::printf("%s\n%s\n",
                cluster
                    .GrepLogs({"gained", "lost", "restor", "rewind", "block", "fenc", "epoch",
                               "error", "warn"},
                              40)
                    .c_str(),
                cluster.LogTails(40).c_str());
  }
  const std::string report_path = absl::GetFlag(FLAGS_report);
  if (!report_path.empty()) {
    std::ofstream out(report_path);
    out << md;
    if (!out) std::fprintf(stderr, "cannot write %s\n", report_path.c_str());
  }
  if (!pass) {
    std::fprintf(stderr, "\n*** surge-cluster-crashloop FAILED; replay with --seed=%llu ***\n",
                 static_cast<unsigned long long>(f.seed));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace surge::cluster_test

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  args[0] = "surge-cluster-crashloop";
  absl::ParseCommandLine(argc, argv);
  return surge::cluster_test::Run(absl::StrJoin(args, " "));
}
