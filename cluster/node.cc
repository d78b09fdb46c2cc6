#include "cluster/node.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "kafka/topic_check.h"
#include "kafka/topics.h"

namespace surge::cluster {

absl::StatusOr<std::unique_ptr<ClusterNode>> ClusterNode::Start(const Options& options,
                                                                eventstore::EventStore& store,
                                                                Notifier& notifier) {
  if (options.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("cluster mode needs --kafka_brokers (a shared Kafka)");
  }
  if (options.partitions < 1) return absl::InvalidArgumentError("partitions must be >= 1");
  std::unique_ptr<ClusterNode> node(new ClusterNode(options, store));

  std::vector<kafka::ExpectedTopic> expected;
  for (const std::string& topic : kafka::EventTopics()) {
    expected.push_back({topic, options.partitions});
    expected.push_back({kafka::ChangelogTopic(topic), options.partitions});
  }
  expected.push_back({kafka::kClusterTopic, 1});
  SURGE_RETURN_IF_ERROR(kafka::CheckTopics(
      {.bootstrap_servers = options.bootstrap_servers, .client_config = options.producer_config},
      expected));

  kafka::Relay::Options relay_options;
  relay_options.bootstrap_servers = options.bootstrap_servers;
  relay_options.embedded = false;
  relay_options.partitions = options.partitions;
  relay_options.producer_config = options.producer_config;
  relay_options.origin = options.origin;
  ClusterNode* self = node.get();
  relay_options.on_delivered = [self](uint64_t delivered) { self->OnDelivered(delivered); };
  // The backlog is bounded by admission (--max_decision_lag) and Kafka
  // keeps what the relay produces; a window here could hold back the very
  // decisions a decider waits for (await_delivered).
  relay_options.window = uint64_t{1} << 40;
  SURGE_ASSIGN_OR_RETURN(node->relay_, kafka::Relay::Create(relay_options, store));
  SURGE_RETURN_IF_ERROR(node->relay_->Start());
  kafka::Relay* relay = node->relay_.get();

  std::vector<projections::Projection*> projections = {&node->stock_, &node->saga_,
                                                       &node->coupons_};
  const std::vector<std::string> topics = {kafka::kStockTopic, kafka::kOrdersTopic,
                                           kafka::kCouponsTopic};

  View::Options view_options;
  view_options.bootstrap_servers = options.bootstrap_servers;
  view_options.node_id = options.node_id;
  view_options.origin = options.origin;
  for (size_t i = 0; i < projections.size(); ++i) {
    view_options.deciders.emplace_back(projections[i]->name(), topics[i]);
  }
  view_options.partitions = options.partitions;
  view_options.consumer_config = options.consumer_config;
  view_options.on_applied = [&notifier, relay] {
    notifier.Notify();
    relay->NotifyApplied();
  };
  SURGE_ASSIGN_OR_RETURN(node->view_, View::Create(view_options, store));
  SURGE_RETURN_IF_ERROR(node->view_->Start());

  Membership::Options member_options;
  member_options.bootstrap_servers = options.bootstrap_servers;
  member_options.node_id = options.node_id;
  member_options.origin = options.origin;
  member_options.producer_config = options.producer_config;
  member_options.consumer_config = options.consumer_config;
  SURGE_ASSIGN_OR_RETURN(node->membership_, Membership::Create(member_options));

  for (size_t i = 0; i < projections.size(); ++i) {
    Decider::Options decider_options;
    decider_options.bootstrap_servers = options.bootstrap_servers;
    decider_options.topic = topics[i];
    decider_options.node_id = options.node_id;
    decider_options.origin = options.origin;
    decider_options.session_timeout_ms = options.session_timeout_ms;
    decider_options.snapshot_interval_bytes = options.snapshot_bytes;
    decider_options.assignment_strategy = options.assignment_strategy;
    if (options.snapshot_bytes == 0) decider_options.snapshot_interval_records = 0;
    decider_options.consumer_config = options.consumer_config;
    decider_options.producer_config = options.producer_config;
    decider_options.max_batch = options.decider_batch;
    decider_options.on_ownership_changed = [self] { self->OwnershipChanged(); };
    decider_options.request_replay = [relay](uint64_t from) { relay->RequestReplay(from); };
    // The view mirrors every changelog partition: a gained partition starts
    // from its copy (a warm standby) and reads only what came since.
    View* view = node->view_.get();
    const std::string changelog = kafka::ChangelogTopic(topics[i]);
    decider_options.standby = [view, changelog](int32_t partition) {
      return view->Warm(changelog, partition);
    };
    decider_options.await_delivered = [self](uint64_t position, absl::Time deadline) {
      return self->AwaitDelivered(position, deadline);
    };
    SURGE_ASSIGN_OR_RETURN(std::unique_ptr<Decider> decider,
                           Decider::Create(decider_options, *projections[i], store));
    // ReplayDeadLetter on this node hands the decider's dead letters back
    // to their partition's owner.
    node->dead_letters_.Register(decider->topic(), decider.get());
    node->deciders_.push_back(std::move(decider));
  }
  SURGE_RETURN_IF_ERROR(node->membership_->Start());
  for (auto& decider : node->deciders_) SURGE_RETURN_IF_ERROR(decider->Start());
  SURGE_LOG(INFO, "cluster") << "node " << options.node_id << " (origin " << options.origin
                             << ") joined the cluster at " << options.bootstrap_servers << " ("
                             << options.partitions << " partitions, session timeout "
                             << options.session_timeout_ms << " ms)";
  return node;
}

ClusterNode::~ClusterNode() {
  // Hand the partitions over first (LeaveGroup), while the relay still runs
  // to publish the decisions of the last batches.
  for (auto& decider : deciders_) decider->Stop();
  membership_.reset();
  deciders_.clear();
  view_.reset();
  relay_.reset();
  SURGE_LOG(INFO, "cluster") << "node " << options_.node_id << " stopped";
}

void ClusterNode::OnDelivered(uint64_t delivered) {
  {
    absl::MutexLock lock(&delivered_mu_);
    delivered_ = std::max(delivered_, delivered);
  }
  if (options_.on_delivered) options_.on_delivered(delivered);
}

bool ClusterNode::AwaitDelivered(uint64_t position, absl::Time deadline) {
  absl::MutexLock lock(&delivered_mu_);
  auto reached = [this, position]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(delivered_mu_) {
    return delivered_ >= position;
  };
  return delivered_mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
}

void ClusterNode::OwnershipChanged() {
  if (membership_ == nullptr) return;
  // Collect and hand over as one step. Deciders publish before they call
  // this, so whichever call runs last sees every decider's latest claim.
  absl::MutexLock lock(&ownership_mu_);
  std::vector<OwnedPartition> owned;
  for (const auto& decider : deciders_) {
    for (const Decider::OwnedPartition& p : decider->owned()) {
      OwnedPartition o;
      o.set_decider(decider->name());
      o.set_topic(decider->topic());
      o.set_partition(p.partition);
      o.set_epoch(p.epoch);
      owned.push_back(std::move(o));
    }
  }
  membership_->SetOwned(std::move(owned));
}

v1::DescribeClusterResponse ClusterNode::Describe() const {
  v1::DescribeClusterResponse response;
  response.set_node_id(options_.node_id);
  response.set_cluster_mode(true);
  // (decider, partition) -> (owner, epoch): the live claim with the highest epoch.
  std::map<std::pair<std::string, int32_t>, std::pair<std::string, int64_t>> owners;
  for (const Membership::Member& m : membership_->Members()) {
    v1::ClusterMember* out = response.add_members();
    out->set_node_id(m.last.node_id());
    out->set_grpc_addr(m.last.grpc_addr());
    out->set_last_seen_unix_ms(m.last.sent_unix_ms());
    out->set_alive(m.alive);
    out->set_started_unix_ms(m.last.started_unix_ms());
    out->set_origin(m.last.origin());
    if (!m.alive) continue;
    for (const OwnedPartition& o : m.last.owned()) {
      auto& slot = owners[{o.decider(), o.partition()}];
      if (slot.first.empty() || o.epoch() > slot.second) slot = {m.last.node_id(), o.epoch()};
    }
  }
  for (const auto& decider : deciders_) {
    for (int32_t p = 0; p < options_.partitions; ++p) {
      v1::PartitionOwner* out = response.add_partitions();
      out->set_decider(decider->name());
      out->set_topic(decider->topic());
      out->set_partition(p);
      auto it = owners.find({decider->name(), p});
      if (it != owners.end()) {
        out->set_owner_node_id(it->second.first);
        out->set_epoch(it->second.second);
      }
    }
  }
  return response;
}

}  // namespace surge::cluster
