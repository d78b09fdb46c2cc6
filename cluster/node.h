// A surge-server's asynchronous half in cluster mode (--cluster): N nodes on
// one Kafka cluster, each accepting any command into its own log. The
// single-node counterpart is server::Pipeline; App picks one of the two.
//
//  clients ─▶ any node: validate, dedupe, append to ITS log ─▶ Relay ─▶ Kafka
//  Deciders (one consumer group per projection: stock, order-saga, coupons)
//     decide the partitions Kafka assigned to this node; state in memory,
//     mirrored to <topic>.changelog, restored from it on every gain
//  View: every changelog partition ─▶ this node's read models (read anywhere)
//  Membership: heartbeats on surge.cluster ─▶ DescribeCluster
//
//   ClusterNode::Options options;
//   options.bootstrap_servers = "127.0.0.1:9092";
//   options.node_id = "n1";
//   options.origin = *LoadOrCreateOrigin(data_dir, "n1");
//   SURGE_ASSIGN_OR_RETURN(auto node, ClusterNode::Start(options, *store, notifier));
//
// Start order: topics checked -> relay -> view -> deciders (join their
// groups) -> membership. Destruction: membership says goodbye, deciders
// leave their groups (their partitions move at once), view, relay (flushes
// the decisions of the last batches).
//
// Thread-safety: Start/destruction from one thread; the rest from any.
// Borrows the store and the notifier.
#ifndef SURGE_CLUSTER_NODE_H_
#define SURGE_CLUSTER_NODE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cluster/decider.h"
#include "cluster/membership.h"
#include "cluster/view.h"
#include "common/notifier.h"
#include "eventstore/event_store.h"
#include "kafka/relay.h"
#include "projections/coupon_projection.h"
#include "projections/dead_letters.h"
#include "projections/order_saga_projection.h"
#include "projections/stock_projection.h"
#include "surge/v1/surge.pb.h"

namespace surge::cluster {

class ClusterNode {
 public:
  struct Options {
    // --- behaviour ---
    std::string bootstrap_servers;  // required: the shared Kafka cluster
    std::string node_id;            // required, unique in the cluster
    std::string origin;             // required: see cluster/origin.h
    // Partitions of every event and changelog topic (all must exist with
    // this many; surge.cluster with one).
    int partitions = 6;
    // Deciders' session.timeout.ms (see Decider::Options).
    int session_timeout_ms = 45000;
    // Deciders' snapshot interval in changelog bytes (0: no snapshots); see
    // Decider::Options::snapshot_interval_bytes.
    uint64_t snapshot_bytes = 1 << 20;
    // Deciders' partition.assignment.strategy (Decider::Options).
    std::string assignment_strategy = "range";
    // Raw librdkafka settings for every producer / consumer.
    std::map<std::string, std::string> producer_config;
    std::map<std::string, std::string> consumer_config;
    // Called whenever the relay's delivered position moves (--ack=kafka).
    std::function<void(uint64_t)> on_delivered;
    // --- performance ---
    size_t decider_batch = 500;
  };

  static absl::StatusOr<std::unique_ptr<ClusterNode>> Start(const Options& options,
                                                            eventstore::EventStore& store,
                                                            Notifier& notifier);
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Advertised in heartbeats once gRPC is bound.
  void SetGrpcAddr(std::string addr) { membership_->SetGrpcAddr(std::move(addr)); }

  kafka::Relay& relay() { return *relay_; }
  // Dead-letter rows this node's deciders wrote; a replay hands one back to
  // its partition's owner (Decider::ReplayDeadLetter).
  projections::DeadLetters& dead_letters() { return dead_letters_; }
  const std::vector<std::unique_ptr<Decider>>& deciders() const { return deciders_; }
  const View& view() const { return *view_; }
  const std::string& node_id() const { return options_.node_id; }
  int partitions() const { return options_.partitions; }

  // Members and partition owners as the heartbeats tell.
  v1::DescribeClusterResponse Describe() const;

 private:
  ClusterNode(const Options& options, eventstore::EventStore& store)
      : options_(options), dead_letters_(store) {}
  void OwnershipChanged();
  void OnDelivered(uint64_t delivered);
  bool AwaitDelivered(uint64_t position, absl::Time deadline);

  const Options options_;
  // Serialises OwnershipChanged: each decider calls it from its own thread
  // after publishing its partitions, and a snapshot taken before another
  // decider's publish must not be the last one handed to the membership.
  absl::Mutex ownership_mu_;
  absl::Mutex delivered_mu_;
  uint64_t delivered_ ABSL_GUARDED_BY(delivered_mu_) = 0;
  projections::StockProjection stock_;
  projections::OrderSagaProjection saga_;
  projections::CouponProjection coupons_;
  projections::DeadLetters dead_letters_;
  // Declared in start order; destroyed in reverse.
  std::unique_ptr<kafka::Relay> relay_;
  std::unique_ptr<View> view_;
  std::vector<std::unique_ptr<Decider>> deciders_;
  std::unique_ptr<Membership> membership_;
};

}  // namespace surge::cluster

#endif  // SURGE_CLUSTER_NODE_H_
