// Who is in the cluster and who owns what, as the nodes report it: every
// node produces a Heartbeat (cluster.proto) to surge.cluster once per
// interval and whenever its decider partitions change, and reads everyone's
// heartbeats. This is the group's view as its members see it; the Kafka
// group protocol itself stays the authority on ownership (the mock broker
// answers no DescribeGroups, and this also works on a real Kafka).
//
//   Membership::Options options;  // bootstrap, node id, origin, grpc addr
//   SURGE_ASSIGN_OR_RETURN(auto members, Membership::Create(options));
//   members->SetOwned(owned);     // after a rebalance
//   SURGE_RETURN_IF_ERROR(members->Start());
//   for (const auto& m : members->Members()) ...
//
// Thread-safety: all methods from any thread; one internal thread produces
// and consumes.
#ifndef SURGE_CLUSTER_MEMBERSHIP_H_
#define SURGE_CLUSTER_MEMBERSHIP_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/cluster.pb.h"

namespace surge::cluster {

class Membership {
 public:
  struct Options {
    std::string bootstrap_servers;  // required
    std::string node_id;            // required
    std::string origin;
    std::string grpc_addr;  // what other nodes and clients dial
    // Raw librdkafka settings applied over the heartbeat producer's and
    // consumer's own (TLS, SASL from --kafka_config_file).
    std::map<std::string, std::string> producer_config;
    std::map<std::string, std::string> consumer_config;
    // How often a heartbeat is sent, and after how long without one a
    // member counts as gone.
    absl::Duration interval = absl::Seconds(1);
    absl::Duration stale_after = absl::Seconds(5);
  };

  struct Member {
    Heartbeat last;  // the latest heartbeat
    bool alive = false;
  };

  static absl::StatusOr<std::unique_ptr<Membership>> Create(const Options& options);
  ~Membership();  // sends a "leaving" heartbeat, then stops
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  absl::Status Start();
  // This node's partitions, sent with the next heartbeat (sent at once).
  void SetOwned(std::vector<OwnedPartition> owned);
  // The address this node advertises (known once gRPC is bound).
  void SetGrpcAddr(std::string addr);
  // Every node heard from, by node id.
  std::vector<Member> Members() const;

 private:
  struct Kafka;
  Membership(const Options& options, std::unique_ptr<Kafka> kafka);
  void Run();
  void Send(bool leaving);

  const Options options_;
  std::unique_ptr<Kafka> kafka_;
  const int64_t started_unix_ms_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool dirty_ ABSL_GUARDED_BY(mu_) = true;
  std::string grpc_addr_ ABSL_GUARDED_BY(mu_);
  std::vector<OwnedPartition> owned_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Heartbeat> members_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::cluster

#endif  // SURGE_CLUSTER_MEMBERSHIP_H_
