// A surge cluster for integration tests: surge-kafka-dev (the librdkafka
// mock cluster in its own process) and N surge-server nodes in cluster mode
// on it, each a ServerProcess with its own data dir and node id ("n1",
// "n2", ...), kernel-chosen ports, loopback only.
//
//   SURGE_ASSIGN_OR_RETURN(auto cluster, Cluster::Start({.nodes = 3}));
//   ASSERT_TRUE(cluster->WaitAllPartitionsOwned({0, 1, 2}).ok());
//   cluster->Kill(2);                // SIGKILL by PID
//   ASSERT_TRUE(cluster->Restart(2).ok());
//
// Signals go to the node's own PID (a child of this process, found in /proc
// by parent and data dir), never by name. The destructor SIGKILLs the nodes
// and SIGTERMs the broker it started.
//
// Not thread-safe: one test thread drives it (load threads use Channel()).
#ifndef SURGE_TESTS_CLUSTER_CLUSTER_H_
#define SURGE_TESTS_CLUSTER_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "surge/v1/surge.grpc.pb.h"
#include "tests/cluster/checker.h"
#include "tests/cluster/kafka_tap.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace surge::cluster_test {

// The deciders and their partition counts, as DescribeCluster names them.
inline const std::vector<std::string>& Deciders() {
  static const std::vector<std::string> kDeciders = {"stock", "order-saga", "coupons"};
  return kDeciders;
}

// The dev broker as a child process: --brokers=1, stdout and stderr in
// <dir>/broker.log, bootstrap from --bootstrap_file.
class DevBroker {
 public:
  DevBroker() = default;
  ~DevBroker();
  DevBroker(const DevBroker&) = delete;
  DevBroker& operator=(const DevBroker&) = delete;

  absl::Status Start(int partitions, absl::Duration timeout = absl::Seconds(30));
  const std::string& bootstrap() const { return bootstrap_; }
  bool running();
  std::string LogTail(int lines = 30) const;

 private:
  testing::TempDir dir_;
  pid_t pid_ = -1;
  std::string bootstrap_;
};

class Cluster {
 public:
  struct Options {
    int nodes = 3;
    int partitions = 6;
    int session_timeout_ms = 6000;
    // Extra flags for every node, e.g. "--ack=kafka".
    std::vector<std::string> node_flags;
    absl::Duration start_timeout = absl::Seconds(60);
  };

  // Starts the broker and `nodes` nodes (each serving before the next).
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(Options options);
  ~Cluster();

  // Adds a node (index size()) with the next node id; returns its index.
  absl::StatusOr<int> AddNode();

  int size() const { return static_cast<int>(nodes_.size()); }
  const std::string& bootstrap() const { return broker_.bootstrap(); }
  std::string node_id(int i) const;  // "n<i+1>"
  testing::ServerProcess& node(int i) { return *nodes_[i].process; }

  // Running and not stopped.
  bool up(int i) const { return nodes_[i].process->running() && !nodes_[i].stopped; }
  std::vector<int> up_nodes() const;
  // A channel to node i (replaced after a restart). Safe to share with load
  // threads; ask again after a restart.
  std::shared_ptr<grpc::Channel> Channel(int i);
  std::string address(int i) const { return nodes_[i].process->address(); }

  // The node's PID, from /proc (a child of this process whose command line
  // names the node's data dir). -1 when not running.
  pid_t Pid(int i) const;

  void Kill(int i);                      // SIGKILL, reaped
  absl::Status Stop(int i);              // SIGSTOP
  absl::Status Cont(int i);              // SIGCONT
  absl::StatusOr<int> Terminate(int i);  // SIGTERM, waits for the exit code
  absl::Status Restart(int i);           // same data dir and flags
  absl::Status WipeDisk(int i);          // deletes the data dir (node must be down)

  absl::StatusOr<v1::DescribeClusterResponse> Describe(int i);

  // Waits until DescribeCluster, asked on a node that is up, reports an owner
  // for every partition of every decider, every owner in `owners` (node
  // indices), and, when `each_owns`, every one of `owners` owning at least
  // one partition.
  absl::Status WaitAllPartitionsOwned(const std::set<int>& owners, bool each_owns = false,
                                      absl::Duration timeout = absl::Seconds(90));
  // Waits until DescribeCluster on node `asked` lists node `member` alive.
  absl::Status WaitMemberAlive(int asked, int member, absl::Duration timeout = absl::Seconds(60));

  // The node owning a decider's partition, per DescribeCluster asked on a
  // node that is up; -1 when unknown.
  int OwnerOf(const std::string& decider, int32_t partition);

  // From now on, CollectSettled takes the Kafka side of the history from
  // `tap` (which has read the topics all along) instead of reading the
  // topics again: the dev broker's retention drops what a long run wrote
  // first. Borrowed; must outlive the Cluster's use of it.
  void UseKafkaTap(KafkaTap* tap) { tap_ = tap; }

  // /metrics of node i.
  absl::StatusOr<std::string> Metrics(int i);

  // Logs of every node and the broker, the last `lines` lines each.
  std::string LogTails(int lines = 60) const;
  // The last `max_lines` lines of each node's log containing any of `words`
  // (case-insensitive), e.g. {"partition", "rebalance", "restore"}.
  std::string GrepLogs(const std::vector<std::string>& words, int max_lines = 20) const;

  // Waits until the cluster is quiet and settled (every order and coupon
  // request in the union decided and read as decided on every node, the
  // logs and read models stable over two rounds), then returns what every
  // up node holds plus the Kafka topics. When it never settles within
  // `timeout`, returns the last snapshot anyway with *why set (the checker
  // will then name the violations).
  // `settled_at` (optional) gets the end of the first round that found
  // nothing open (the stable round after it only confirms).
  absl::StatusOr<ClusterSnapshot> CollectSettled(absl::Duration timeout, std::string* why,
                                                 absl::Time* settled_at = nullptr);

  // CollectSettled then CheckCluster; the report's Summary() names every
  // violation. `why` as above.
  // `stats` (optional) gets the sizes of what was collected, `settled_at`
  // as in CollectSettled.
  absl::StatusOr<ClusterReport> CheckInvariants(const Acknowledged& acknowledged,
                                                std::string* why = nullptr,
                                                absl::Duration timeout = absl::Seconds(120),
                                                std::string* stats = nullptr,
                                                absl::Time* settled_at = nullptr);

 private:
  struct Node {
    std::unique_ptr<testing::ServerProcess> process;
    bool stopped = false;
  };
  explicit Cluster(Options options) : options_(std::move(options)) {}
  std::vector<std::string> FlagsFor(int i) const;
  absl::Status Signal(int i, int signal);
  // A node that is up to ask, preferring `prefer`.
  int AskNode(int prefer = 0) const;

  Options options_;
  KafkaTap* tap_ = nullptr;
  DevBroker broker_;
  std::vector<Node> nodes_;
};

// Parses Prometheus text: the value of `name` with exactly these labels
// (e.g. {{"node","n1"},{"decider","stock"}}); NOT_FOUND when absent.
absl::StatusOr<double> MetricValue(const std::string& body, const std::string& name,
                                   const std::vector<std::pair<std::string, std::string>>& labels);
// The sum of every sample of `name` (any labels).
double MetricSum(const std::string& body, const std::string& name);
// The sum of the samples of `name` whose `label` is `value` (other labels
// any), e.g. a histogram's buckets at le="1" over every decider.
double MetricSumWhere(const std::string& body, const std::string& name, const std::string& label,
                      const std::string& value);
bool HasMetric(const std::string& body, const std::string& name);

}  // namespace surge::cluster_test

#endif  // SURGE_TESTS_CLUSTER_CLUSTER_H_
