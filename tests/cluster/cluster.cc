#include "tests/cluster/cluster.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "kafka/topics.h"
#include "tests/cluster/kafka_reader.h"
#include "tests/cluster/rpc.h"
#include "tests/support/child_process.h"

namespace surge::cluster_test {
namespace {

using testing::LastLines;
using testing::ReadFileOrEmpty;

absl::StatusOr<std::string> HttpGetMetrics(int port) {
  if (port <= 0) return absl::UnavailableError("metrics port unknown");
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to metrics port ", port));
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return absl::UnavailableError("cannot send the metrics request");
  }
  std::string response;
  char buf[8192];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) response.append(buf, n);
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return absl::UnavailableError("no HTTP response");
  return response.substr(body + 4);
}

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> ParseSamples(const std::string& body) {
  std::vector<Sample> out;
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == absl::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
        std::string key(absl::StripAsciiWhitespace(line.substr(i, eq - i)));
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) ++j;
          value.push_back(line[j]);
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i < line.size()) ++i;  // '}'
    }
    std::vector<absl::string_view> rest =
        absl::StrSplit(line.substr(std::min(i, line.size())), ' ', absl::SkipWhitespace());
    if (rest.empty() || !absl::SimpleAtod(rest[0], &s.value)) continue;
    out.push_back(std::move(s));
  }
  return out;
}

int NodeIndexOf(const std::string& node_id) {
  int n = 0;
  if (node_id.size() < 2 || node_id[0] != 'n' || !absl::SimpleAtoi(node_id.substr(1), &n)) {
    return -1;
  }
  return n - 1;
}

// A short account of who owns what, for failure messages.
std::string DescribeOwnership(const v1::DescribeClusterResponse& r) {
  std::map<std::string, std::vector<std::string>> by_owner;
  for (const v1::PartitionOwner& p : r.partitions()) {
    by_owner[p.owner_node_id().empty() ? "(none)" : p.owner_node_id()].push_back(
        absl::StrCat(p.decider(), "/", p.partition(), "@", p.epoch()));
  }
  std::vector<std::string> owners;
  for (const auto& [owner, parts] : by_owner) {
    owners.push_back(absl::StrCat(owner, ": ", absl::StrJoin(parts, " ")));
  }
  std::vector<std::string> members;
  for (const v1::ClusterMember& m : r.members()) {
    members.push_back(absl::StrCat(m.node_id(), m.alive() ? "(alive)" : "(dead)"));
  }
  return absl::StrCat("asked ", r.node_id(), ": members [", absl::StrJoin(members, " "),
                      "]; owners {", absl::StrJoin(owners, "; "), "}");
}

}  // namespace

// ----------------------------------------------------------------- broker --

DevBroker::~DevBroker() { testing::StopChild(pid_, absl::Seconds(10)); }

absl::Status DevBroker::Start(int partitions, absl::Duration timeout) {
  const std::string log = dir_.Path("broker.log");
  std::vector<std::string> argv = {SURGE_KAFKA_DEV_BIN, "--brokers=1",
                                   absl::StrCat("--partitions=", partitions),
                                   absl::StrCat("--bootstrap_file=", dir_.Path("bootstrap"))};
  absl::StatusOr<pid_t> pid = testing::SpawnLogged(argv, log);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty(log), '\n')) {
      if (absl::ConsumePrefix(&line, "bootstrap=") && !line.empty()) {
        bootstrap_ = std::string(absl::StripAsciiWhitespace(line));
        return absl::OkStatus();
      }
    }
    if (!running()) {
      return absl::FailedPreconditionError(
          absl::StrCat("surge-kafka-dev exited before printing bootstrap=; log:\n", LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(20));  // polling the child's output
  }
  return absl::DeadlineExceededError(absl::StrCat("surge-kafka-dev printed no bootstrap= within ",
                                                  absl::FormatDuration(timeout), "; log:\n",
                                                  LogTail()));
}

bool DevBroker::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string DevBroker::LogTail(int lines) const {
  return LastLines(ReadFileOrEmpty(dir_.Path("broker.log")), lines);
}

// ---------------------------------------------------------------- cluster --

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(Options options) {
  std::unique_ptr<Cluster> cluster(new Cluster(std::move(options)));
  if (absl::Status s = cluster->broker_.Start(cluster->options_.partitions); !s.ok()) return s;
  for (int i = 0; i < cluster->options_.nodes; ++i) {
    absl::StatusOr<int> added = cluster->AddNode();
    if (!added.ok()) return added.status();
  }
  return cluster;
}

Cluster::~Cluster() {
  for (Node& node : nodes_) {
    if (node.stopped) (void)Signal(static_cast<int>(&node - nodes_.data()), SIGCONT);
    node.process.reset();  // SIGKILL and reap
  }
}

std::string Cluster::node_id(int i) const { return absl::StrCat("n", i + 1); }

std::vector<std::string> Cluster::FlagsFor(int i) const {
  std::vector<std::string> flags = {
      "--cluster",
      absl::StrCat("--kafka_brokers=", broker_.bootstrap()),
      absl::StrCat("--kafka_partitions=", options_.partitions),
      absl::StrCat("--node_id=", node_id(i)),
      absl::StrCat("--cluster_session_timeout_ms=", options_.session_timeout_ms),
      "--kafka_fetch_wait_ms=1",
  };
  flags.insert(flags.end(), options_.node_flags.begin(), options_.node_flags.end());
  return flags;
}

absl::StatusOr<int> Cluster::AddNode() {
  const int i = size();
  testing::ServerProcess::Options o;
  o.flags = FlagsFor(i);
  o.start_timeout = options_.start_timeout;
  o.keep_dir = std::getenv("SURGE_CLUSTER_KEEP") != nullptr;
  auto started = testing::ServerProcess::Start(std::move(o));
  if (!started.ok()) {
    return absl::Status(started.status().code(),
                        absl::StrCat("starting ", node_id(i), ": ", started.status().message()));
  }
  nodes_.push_back(Node{std::move(*started), false});
  return i;
}

std::vector<int> Cluster::up_nodes() const {
  std::vector<int> out;
  for (int i = 0; i < size(); ++i) {
    if (up(i)) out.push_back(i);
  }
  return out;
}

std::shared_ptr<grpc::Channel> Cluster::Channel(int i) { return nodes_[i].process->channel(); }

pid_t Cluster::Pid(int i) const {
  if (!nodes_[i].process->running()) return -1;
  const std::string needle = absl::StrCat("--data_dir=", nodes_[i].process->data_dir());
  const pid_t self = ::getpid();
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return -1;
  pid_t found = -1;
  while (dirent* entry = ::readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid) || pid <= 0) continue;
    const std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
    int ppid = 0;
    if (fields.size() < 2 || fields[0] == "Z" || !absl::SimpleAtoi(fields[1], &ppid) ||
        ppid != self) {
      continue;
    }
    std::string cmdline = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/cmdline"));
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (absl::StrContains(cmdline, needle + " ") || absl::EndsWith(cmdline, needle)) {
      found = pid;
      break;
    }
  }
  ::closedir(proc);
  return found;
}

absl::Status Cluster::Signal(int i, int signal) {
  const pid_t pid = Pid(i);
  if (pid <= 0) return absl::FailedPreconditionError(absl::StrCat(node_id(i), " is not running"));
  if (::kill(pid, signal) != 0) {
    return absl::InternalError(
        absl::StrCat("kill(", pid, ", ", signal, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void Cluster::Kill(int i) {
  nodes_[i].process->Kill();
  nodes_[i].stopped = false;
}

absl::Status Cluster::Stop(int i) {
  if (absl::Status s = Signal(i, SIGSTOP); !s.ok()) return s;
  nodes_[i].stopped = true;
  return absl::OkStatus();
}

absl::Status Cluster::Cont(int i) {
  if (absl::Status s = Signal(i, SIGCONT); !s.ok()) return s;
  nodes_[i].stopped = false;
  return absl::OkStatus();
}

absl::StatusOr<int> Cluster::Terminate(int i) {
  if (nodes_[i].stopped) (void)Cont(i);
  return nodes_[i].process->Terminate(absl::Seconds(40));
}

absl::Status Cluster::Restart(int i) {
  nodes_[i].stopped = false;
  absl::Status s = nodes_[i].process->Restart();
  if (!s.ok())
    return absl::Status(s.code(), absl::StrCat("restarting ", node_id(i), ": ", s.message()));
  return s;
}

absl::Status Cluster::WipeDisk(int i) {
  if (nodes_[i].process->running()) {
    return absl::FailedPreconditionError(absl::StrCat(node_id(i), " still runs"));
  }
  std::error_code ec;
  std::filesystem::remove_all(nodes_[i].process->data_dir(), ec);
  if (ec) return absl::InternalError(absl::StrCat("remove_all: ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<v1::DescribeClusterResponse> Cluster::Describe(int i) {
  return rpc::DescribeCluster(Channel(i));
}

int Cluster::AskNode(int prefer) const {
  if (prefer >= 0 && prefer < size() && up(prefer)) return prefer;
  for (int i = 0; i < size(); ++i) {
    if (up(i)) return i;
  }
  return -1;
}

absl::Status Cluster::WaitAllPartitionsOwned(const std::set<int>& owners, bool each_owns,
                                             absl::Duration timeout) {
  std::vector<std::string> want;
  for (int o : owners) want.push_back(node_id(o));
  int round = 0;
  return rpc::WaitFor(
      absl::StrCat("every partition of every decider owned by {", absl::StrJoin(want, ","), "}",
                   each_owns ? ", each owning some" : ""),
      timeout,
      [&](std::string* detail) {
        // Ask the owners in turn (each reports its own view of the group).
        std::vector<int> candidates;
        for (int o : owners) {
          if (up(o)) candidates.push_back(o);
        }
        if (candidates.empty()) {
          *detail = "no owner node is up";
          return false;
        }
        const int asked = candidates[round++ % candidates.size()];
        absl::StatusOr<v1::DescribeClusterResponse> r = rpc::DescribeCluster(Channel(asked));
        if (!r.ok()) {
          *detail =
              absl::StrCat("DescribeCluster on ", node_id(asked), ": ", r.status().ToString());
          return false;
        }
        std::map<std::pair<std::string, int32_t>, std::string> owner_of;
        for (const v1::PartitionOwner& p : r->partitions()) {
          owner_of[{p.decider(), p.partition()}] = p.owner_node_id();
        }
        std::set<std::string> owning;
        std::vector<std::string> problems;
        for (const std::string& decider : Deciders()) {
          for (int32_t p = 0; p < options_.partitions; ++p) {
            auto it = owner_of.find({decider, p});
            if (it == owner_of.end() || it->second.empty()) {
              problems.push_back(absl::StrCat(decider, "/", p, " has no owner"));
              continue;
            }
            const int index = NodeIndexOf(it->second);
            if (!owners.contains(index)) {
              problems.push_back(absl::StrCat(decider, "/", p, " owned by ", it->second));
            }
            owning.insert(it->second);
          }
        }
        if (each_owns) {
          for (const std::string& w : want) {
            if (!owning.contains(w)) problems.push_back(absl::StrCat(w, " owns nothing"));
          }
        }
        if (problems.empty()) return true;
        if (problems.size() > 6) problems.resize(6);
        *detail = absl::StrCat(absl::StrJoin(problems, "; "), " — ", DescribeOwnership(*r));
        return false;
      },
      absl::Milliseconds(200));
}

absl::Status Cluster::WaitMemberAlive(int asked, int member, absl::Duration timeout) {
  return rpc::WaitFor(absl::StrCat(node_id(asked), " to list ", node_id(member), " alive"), timeout,
                      [&](std::string* detail) {
                        absl::StatusOr<v1::DescribeClusterResponse> r =
                            rpc::DescribeCluster(Channel(asked));
                        if (!r.ok()) {
                          *detail = r.status().ToString();
                          return false;
                        }
                        for (const v1::ClusterMember& m : r->members()) {
                          if (m.node_id() == node_id(member) && m.alive()) return true;
                        }
                        *detail = DescribeOwnership(*r);
                        return false;
                      });
}

int Cluster::OwnerOf(const std::string& decider, int32_t partition) {
  const int asked = AskNode();
  if (asked < 0) return -1;
  absl::StatusOr<v1::DescribeClusterResponse> r = rpc::DescribeCluster(Channel(asked));
  if (!r.ok()) return -1;
  for (const v1::PartitionOwner& p : r->partitions()) {
    if (p.decider() == decider && p.partition() == partition) return NodeIndexOf(p.owner_node_id());
  }
  return -1;
}

absl::StatusOr<std::string> Cluster::Metrics(int i) {
  return HttpGetMetrics(nodes_[i].process->metrics_port());
}

std::string Cluster::LogTails(int lines) const {
  std::string out;
  for (int i = 0; i < size(); ++i) {
    const char* state = up(i) ? "up" : nodes_[i].stopped ? "stopped" : "down";
    absl::StrAppend(&out, "\n===== ", node_id(i), " (", state, ", pid ", Pid(i), ", ",
                    nodes_[i].process->log_path(), ") last ", lines, " lines =====\n",
                    nodes_[i].process->LogTail(lines));
  }
  absl::StrAppend(&out, "\n===== surge-kafka-dev last 15 lines =====\n", broker_.LogTail(15));
  return out;
}

std::string Cluster::GrepLogs(const std::vector<std::string>& words, int max_lines) const {
  std::string out;
  for (int i = 0; i < size(); ++i) {
    std::deque<std::string> hits;
    for (absl::string_view line :
         absl::StrSplit(ReadFileOrEmpty(nodes_[i].process->log_path()), '\n')) {
      const std::string lower = absl::AsciiStrToLower(line);
      for (const std::string& w : words) {
        if (absl::StrContains(lower, absl::AsciiStrToLower(w))) {
          hits.emplace_back(line);
          if (static_cast<int>(hits.size()) > max_lines) hits.pop_front();
          break;
        }
      }
    }
    absl::StrAppend(&out, "\n===== ", node_id(i), ": last ", hits.size(), " lines naming {",
                    absl::StrJoin(words, ","), "} =====\n", absl::StrJoin(hits, "\n"));
  }
  return out;
}

absl::StatusOr<double> MetricValue(const std::string& body, const std::string& name,
                                   const std::vector<std::pair<std::string, std::string>>& labels) {
  double sum = 0;
  bool found = false;
  for (const Sample& s : ParseSamples(body)) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (!match) continue;
    sum += s.value;
    found = true;
  }
  if (!found) return absl::NotFoundError(absl::StrCat("no sample of ", name));
  return sum;
}

double MetricSum(const std::string& body, const std::string& name) {
  double sum = 0;
  for (const Sample& s : ParseSamples(body)) {
    if (s.name == name) sum += s.value;
  }
  return sum;
}

double MetricSumWhere(const std::string& body, const std::string& name, const std::string& label,
                      const std::string& value) {
  double sum = 0;
  for (const Sample& s : ParseSamples(body)) {
    auto it = s.labels.find(label);
    if (s.name == name && it != s.labels.end() && it->second == value) sum += s.value;
  }
  return sum;
}

bool HasMetric(const std::string& body, const std::string& name) {
  for (const Sample& s : ParseSamples(body)) {
    if (s.name == name) return true;
  }
  return false;
}

// ---------------------------------------------------------- the snapshot --

namespace {

// Reads the node's read models for every key of `u`. A settlement read
// waits (once per round and node) so that a quiet cluster is seen settled
// without polling; once one wait came back still pending, the rest of the
// round answers immediately.
void ReadModels(const rpc::Channel& ch, const Union& u, NodeSnapshot* node, std::string* error) {
  bool may_wait = true;
  constexpr int64_t kWaitMs = 2000;
  for (const std::string& id : u.order_ids) {
    absl::StatusOr<v1::Order> o = rpc::GetOrder(ch, id, may_wait ? kWaitMs : 0);
    if (o.ok()) {
      if (o->status() == v1::ORDER_STATUS_PENDING) may_wait = false;
      node->orders[id] = *o;
    } else if (o.status().code() != absl::StatusCode::kNotFound && error->empty()) {
      *error = absl::StrCat(node->node, " GetOrder ", id, ": ", o.status().ToString());
    }
  }
  for (const std::string& id : u.coupon_request_ids) {
    absl::StatusOr<v1::CouponRequest> r = rpc::GetCouponRequest(ch, id, may_wait ? kWaitMs : 0);
    if (r.ok()) {
      if (r->status() == v1::COUPON_REQUEST_STATUS_PENDING) may_wait = false;
      node->coupon_requests[id] = *r;
    } else if (r.status().code() != absl::StatusCode::kNotFound && error->empty()) {
      *error = absl::StrCat(node->node, " GetCouponRequest ", id, ": ", r.status().ToString());
    }
  }
  for (const std::string& sku : u.skus) {
    absl::StatusOr<v1::Stock> s = rpc::GetStock(ch, sku);
    if (s.ok()) {
      node->stock[sku] = *s;
    } else if (s.status().code() != absl::StatusCode::kNotFound && error->empty()) {
      *error = absl::StrCat(node->node, " GetStock ", sku, ": ", s.status().ToString());
    }
  }
  for (const std::string& code : u.codes) {
    absl::StatusOr<v1::Campaign> c = rpc::GetCampaign(ch, code);
    if (c.ok()) {
      node->campaigns[code] = *c;
    } else if (c.status().code() != absl::StatusCode::kNotFound && error->empty()) {
      *error = absl::StrCat(node->node, " GetCampaign ", code, ": ", c.status().ToString());
    }
  }
}

// Marks, per node, the events of its log that the broker's retention
// dropped: in a truncated partition, those missing from Kafka that come
// before (in the node's log order) the first of its events there that Kafka
// still holds. Retention drops a partition's oldest messages and the relay
// publishes each partition in log order, so these were relayed; a missing
// event after one Kafka holds is not excused. A node of which Kafka holds
// nothing in a truncated partition cannot be told apart: its events there
// are excused too (the checker's message counts them).
void MarkDroppedByRetention(const std::set<std::pair<std::string, int32_t>>& truncated,
                            int partitions, ClusterSnapshot* snapshot) {
  if (truncated.empty()) return;
  std::set<std::string> in_kafka;
  for (const v1::Event& e : snapshot->kafka) in_kafka.insert(e.event_id());
  for (NodeSnapshot& node : snapshot->nodes) {
    std::set<std::pair<std::string, int32_t>> reached;  // a surviving event seen there
    for (const v1::Event& e : node.log) {
      absl::StatusOr<kafka::Route> route = kafka::RouteEvent(e);
      if (!route.ok()) continue;
      const std::pair<std::string, int32_t> tp = {route->topic,
                                                  kafka::PartitionFor(route->key, partitions)};
      if (!truncated.contains(tp) || reached.contains(tp)) continue;
      if (in_kafka.contains(e.event_id())) {
        reached.insert(tp);
      } else {
        node.dropped_by_retention.insert(e.position());
      }
    }
  }
}

// What is still open in the snapshot: requests in the union without a
// decision, and reads that are PENDING or missing on some node.
std::vector<std::string> Unsettled(const ClusterSnapshot& snapshot, const Union& u) {
  std::set<std::string> decided_orders, placed, decided_requests, requested;
  for (const auto& [id, e] : u.by_id) {
    if (e.has_order_placed()) placed.insert(e.order_placed().order_id());
    if (e.has_order_confirmed()) decided_orders.insert(e.order_confirmed().order_id());
    if (e.has_order_cancelled()) decided_orders.insert(e.order_cancelled().order_id());
    if (e.has_coupon_requested()) requested.insert(e.coupon_requested().request_id());
    if (e.has_coupon_issued()) decided_requests.insert(e.coupon_issued().request_id());
    if (e.has_coupon_rejected()) decided_requests.insert(e.coupon_rejected().request_id());
  }
  std::vector<std::string> open;
  if (!snapshot.kafka.empty()) {
    // The relay still has to publish these (or is stuck: the checker says).
    std::set<std::string> in_kafka;
    for (const v1::Event& e : snapshot.kafka) in_kafka.insert(e.event_id());
    for (const NodeSnapshot& node : snapshot.nodes) {
      int64_t missing = 0;
      for (const v1::Event& e : node.log) {
        missing +=
            !in_kafka.contains(e.event_id()) && !node.dropped_by_retention.contains(e.position());
      }
      if (missing > 0) {
        open.push_back(absl::StrCat(node.node, ": ", missing, " log events not in Kafka yet"));
      }
    }
  }
  for (const std::string& id : placed) {
    if (!decided_orders.contains(id)) open.push_back(absl::StrCat("order ", id, " undecided"));
  }
  for (const std::string& id : requested) {
    if (!decided_requests.contains(id)) {
      open.push_back(absl::StrCat("coupon request ", id, " undecided"));
    }
  }
  for (const NodeSnapshot& node : snapshot.nodes) {
    for (const std::string& id : u.order_ids) {
      auto it = node.orders.find(id);
      if (it == node.orders.end() || it->second.status() == v1::ORDER_STATUS_PENDING) {
        open.push_back(absl::StrCat(node.node, " reads order ", id,
                                    it == node.orders.end() ? " NOT_FOUND" : " PENDING"));
      }
    }
    for (const std::string& id : u.coupon_request_ids) {
      auto it = node.coupon_requests.find(id);
      if (it == node.coupon_requests.end() ||
          it->second.status() == v1::COUPON_REQUEST_STATUS_PENDING) {
        open.push_back(absl::StrCat(node.node, " reads coupon request ", id,
                                    it == node.coupon_requests.end() ? " NOT_FOUND" : " PENDING"));
      }
    }
  }
  return open;
}

// Everything a round saw, to tell whether the next round saw the same.
std::string Fingerprint(const ClusterSnapshot& snapshot) {
  std::string f = absl::StrCat("kafka=", snapshot.kafka.size());
  for (const NodeSnapshot& node : snapshot.nodes) {
    absl::StrAppend(&f, "|", node.node, " log=", node.log.size());
    for (const auto& [k, v] : node.orders) absl::StrAppend(&f, ";o", k, v.status(), v.reason());
    for (const auto& [k, v] : node.stock) {
      absl::StrAppend(&f, ";s", k, ":", v.available(), "/", v.reserved_total());
    }
    for (const auto& [k, v] : node.campaigns) absl::StrAppend(&f, ";c", k, ":", v.issued());
    for (const auto& [k, v] : node.coupon_requests) {
      absl::StrAppend(&f, ";r", k, v.status(), v.coupon_id());
    }
  }
  return f;
}

}  // namespace

absl::StatusOr<ClusterSnapshot> Cluster::CollectSettled(absl::Duration timeout, std::string* why,
                                                        absl::Time* settled_at) {
  const absl::Time deadline = absl::Now() + timeout;
  if (settled_at != nullptr) *settled_at = absl::InfiniteFuture();
  // Gives up early once nothing at all has changed for this long while
  // items are still open: they are stuck, not slow.
  constexpr absl::Duration kQuiet = absl::Seconds(20);
  std::string previous;
  absl::Time changed_at = absl::Now();
  ClusterSnapshot last;
  std::string last_why = "no round completed";
  while (true) {
    ClusterSnapshot snapshot;
    for (int i : up_nodes()) {
      absl::StatusOr<std::vector<v1::Event>> log = rpc::ReadWholeLog(Channel(i));
      if (!log.ok()) {
        return absl::Status(log.status().code(), absl::StrCat("reading the log of ", node_id(i),
                                                              ": ", log.status().message()));
      }
      snapshot.nodes.push_back(NodeSnapshot{.node = node_id(i), .log = *std::move(log)});
    }
    std::string kafka_note;
    absl::StatusOr<KafkaEvents> kafka = tap_ != nullptr
                                            ? tap_->CatchUp(absl::Seconds(60))
                                            : ReadTopicEvents(bootstrap(), EventTopicNames());
    if (kafka.ok()) {
      snapshot.kafka = std::move(kafka->events);
      MarkDroppedByRetention(kafka->truncated, options_.partitions, &snapshot);
      if (kafka->undecodable > 0) {
        kafka_note = absl::StrCat("; ", kafka->undecodable, " of ", kafka->messages,
                                  " Kafka messages were not surge.v1.Event");
      }
    } else {
      kafka_note = absl::StrCat("; Kafka topics not read: ", kafka.status().ToString());
    }
    const Union u = UnionOf(snapshot);
    std::vector<std::string> errors(snapshot.nodes.size());
    {
      std::vector<std::thread> readers;
      std::vector<int> up = up_nodes();
      for (size_t k = 0; k < snapshot.nodes.size(); ++k) {
        rpc::Channel ch = Channel(up[k]);
        readers.emplace_back([ch, &u, node = &snapshot.nodes[k], error = &errors[k]] {
          ReadModels(ch, u, node, error);
        });
      }
      for (std::thread& t : readers) t.join();
    }
    std::vector<std::string> open = Unsettled(snapshot, u);
    for (const std::string& e : errors) {
      if (!e.empty()) open.push_back(e);
    }
    const std::string fingerprint = Fingerprint(snapshot);
    const bool stable = fingerprint == previous;
    if (!stable) changed_at = absl::Now();
    previous = fingerprint;
    last = std::move(snapshot);
    if (open.empty() && settled_at != nullptr && *settled_at == absl::InfiniteFuture()) {
      *settled_at = absl::Now();
    }
    if (!open.empty() && settled_at != nullptr) *settled_at = absl::InfiniteFuture();
    if (open.empty() && stable) {
      if (why != nullptr) *why = kafka_note.empty() ? "" : kafka_note.substr(2);
      return last;
    }
    const size_t n = open.size();
    if (open.size() > 8) open.resize(8);
    last_why = absl::StrCat(n, " open item(s)", n > 0 ? ": " : "", absl::StrJoin(open, "; "),
                            stable ? "" : " (still changing)", kafka_note);
    if (absl::Now() >= deadline) break;
    if (absl::Now() - changed_at >= kQuiet) {
      absl::StrAppend(&last_why, "; nothing changed for ", absl::FormatDuration(kQuiet));
      break;
    }
    absl::SleepFor(absl::Milliseconds(300));  // between rounds of reads
  }
  if (why != nullptr) {
    *why = absl::StrCat("the cluster did not settle (waited ",
                        absl::FormatDuration(absl::Now() - (deadline - timeout)), " of at most ",
                        absl::FormatDuration(timeout), "): ", last_why);
  }
  return last;
}

absl::StatusOr<ClusterReport> Cluster::CheckInvariants(const Acknowledged& acknowledged,
                                                       std::string* why, absl::Duration timeout,
                                                       std::string* stats, absl::Time* settled_at) {
  std::string local_why;
  absl::StatusOr<ClusterSnapshot> snapshot = CollectSettled(timeout, &local_why, settled_at);
  if (!snapshot.ok()) return snapshot.status();
  if (why != nullptr) *why = local_why;
  ClusterReport report = CheckCluster(*snapshot, acknowledged);
  if (stats != nullptr) {
    const Union u = UnionOf(*snapshot);
    std::vector<std::string> logs;
    for (const NodeSnapshot& n : snapshot->nodes) {
      logs.push_back(absl::StrCat(n.node, " log=", n.log.size()));
    }
    *stats = absl::StrCat(absl::StrJoin(logs, ", "), ", kafka=", snapshot->kafka.size(),
                          " events; union ", u.by_id.size(), " distinct events, ",
                          u.order_ids.size(), " orders, ", u.coupon_request_ids.size(),
                          " coupon requests, ", u.skus.size(), " skus, ", u.codes.size(),
                          " campaigns; acknowledged ", acknowledged.order_ids.size(), " orders, ",
                          acknowledged.coupon_request_ids.size(), " coupon requests");
    // What the logs hold that the topics do not (not relayed, or not routed).
    std::map<std::string, int> missing;
    std::vector<std::string> examples;
    for (const auto& [id, e] : u.by_id) {
      if (u.sources.at(id).contains("kafka")) continue;
      const auto* field =
          v1::Event::descriptor()->FindFieldByNumber(static_cast<int>(e.payload_case()));
      ++missing[field == nullptr ? "none" : std::string(field->name())];
      if (examples.size() < 4) {
        examples.push_back(
            absl::StrCat(id, " from ", absl::StrJoin(u.sources.at(id), ","), " at ", e.position()));
      }
    }
    if (!missing.empty()) {
      std::vector<std::string> parts;
      for (const auto& [type, n] : missing) parts.push_back(absl::StrCat(type, "=", n));
      absl::StrAppend(stats, "; in logs but not in Kafka: ", absl::StrJoin(parts, " "), " (e.g. ",
                      absl::StrJoin(examples, "; "), ")");
    }
  }
  return report;
}

}  // namespace surge::cluster_test
