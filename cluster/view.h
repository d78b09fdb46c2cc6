// The read side of a cluster node: mirrors every decider's changelog, all
// partitions (no consumer group), into this node's read models, so that
// GetOrder, GetStock, GetCampaign and GetCouponRequest answer the same on
// every node whichever node decided. It also turns the deciders' dedupe
// marks for this node's own origin into the relay's applied checkpoints
// ("applied/<decider>/<topic>/<partition>"), so the relay's window, stall
// rewinds and gap repair work across nodes unchanged.
//
//   View::Options options;
//   options.bootstrap_servers = ...; options.origin = ...;
//   options.deciders = {{"stock", kafka::kStockTopic}, ...};
//   options.partitions = 6;
//   SURGE_ASSIGN_OR_RETURN(auto view, View::Create(options, *store));
//   SURGE_RETURN_IF_ERROR(view->Start());
//
// Records are applied with the same chain rule as a restore (ExtendsChain in
// partition_state.h): a record counts only when it extends the partition
// past the offset the view reached, so copies written by a zombie or by two
// owners during a handoff are applied once. A complete snapshot past that
// offset (a view that joined after retention dropped the partition's first
// records, or lost its disk) brings the view's rows to the snapshot's state
// and the chain resumes from there; rows the state had dropped before
// (view-only rows, such as rejected coupon requests, older than the
// retained changelog) are not in a snapshot, so such a view lacks them;
// the node's GetCouponRequest then asks the other nodes
// (server/internal/peer_reads.h). Each consumed batch is one EventStore::Append (rows + the
// view's own positions), so a crash replays it exactly once.
//
// Thread-safety: Create/Start/destruction from one thread; GetStats from
// any. One internal thread owns the consumer. Borrows the store.
#ifndef SURGE_CLUSTER_VIEW_H_
#define SURGE_CLUSTER_VIEW_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cluster/partition_state.h"
#include "eventstore/event_store.h"

namespace surge::cluster {

class View {
 public:
  struct Options {
    // --- behaviour ---
    std::string bootstrap_servers;  // required
    std::string node_id;            // required (client ids, logs)
    std::string origin;             // required: this node's log origin
    // (decider name, input topic) of every decider mirrored; the changelog
    // is kafka::ChangelogTopic(topic).
    std::vector<std::pair<std::string, std::string>> deciders;
    int partitions = 6;  // of every changelog topic
    std::map<std::string, std::string> consumer_config;
    // Called on the view thread after every append (wake settlement waits,
    // tell the relay its checkpoints moved).
    std::function<void()> on_applied;
    // --- timing / performance ---
    size_t max_batch = 1000;
    absl::Duration poll_timeout = absl::Milliseconds(100);
    absl::Duration backoff_min = absl::Milliseconds(50);
    absl::Duration backoff_max = absl::Seconds(2);
  };

  struct DeciderStats {
    std::string decider;
    std::string topic;          // the changelog topic
    uint64_t records = 0;       // records applied
    uint64_t ignored = 0;       // records that did not extend the chain
    uint64_t lag_messages = 0;  // changelog messages not applied yet
    int64_t max_epoch = 0;
  };

  static absl::StatusOr<std::unique_ptr<View>> Create(const Options& options,
                                                      eventstore::EventStore& store);
  ~View();
  View(const View&) = delete;
  View& operator=(const View&) = delete;

  // Loads the view's positions and assigns every changelog partition there.
  absl::Status Start();
  std::vector<DeciderStats> GetStats() const;

  // A copy of the partition state this view keeps warm for changelog
  // partition (topic, partition), when it is exactly what a restore would
  // build (its chain is the view's own: it started from the partition's
  // first record, or from a complete snapshot since this process started);
  // nullopt otherwise. Any thread.
  std::optional<WarmState> Warm(const std::string& changelog, int32_t partition) const;

 private:
  struct Kafka;
  struct Slot;  // one changelog partition

  View(const Options& options, eventstore::EventStore& store, std::unique_ptr<Kafka> kafka);
  void Run();
  void UpdateLag();
  bool Backoff(int attempt);
  // The standby of (changelog, partition) takes the record read at `offset`.
  void FeedStandby(const std::string& changelog, int32_t partition, int64_t offset, size_t bytes,
                   const ChangelogBatch& record);
  void SetStandbyChain(const std::string& changelog, int32_t partition, int64_t chain_next);

  const Options options_;
  eventstore::EventStore& store_;
  std::unique_ptr<Kafka> kafka_;
  absl::Notification stop_;
  std::thread thread_;
  // View thread only (after Start): changelog topic -> partition -> slot.
  std::map<std::string, std::vector<Slot>> slots_;
  std::map<std::string, std::pair<std::string, std::string>> by_changelog_;  // -> (decider, topic)
  // Snapshot chunks collected per (changelog, partition). Not rolled back
  // with the slots: an append is retried until it commits or the view stops.
  std::map<std::pair<std::string, int32_t>, SnapshotAssembler> assemblers_;

  // The warm standbys: per (changelog, partition), the decider state the
  // records read so far build (PartitionState::Apply / ApplySnapshot, the
  // restore's rules), and the chain offset the view's rows reached. Warm
  // when the two agree. Written by the view thread, copied by deciders.
  struct Standby {
    WarmState warm;
    int64_t view_chain_next = 0;
  };
  mutable absl::Mutex standby_mu_;
  std::map<std::pair<std::string, int32_t>, Standby> standbys_ ABSL_GUARDED_BY(standby_mu_);
  std::map<std::pair<std::string, int32_t>, SnapshotAssembler> standby_assemblers_
      ABSL_GUARDED_BY(standby_mu_);
  mutable absl::Mutex mu_;
  std::vector<DeciderStats> stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::cluster

#endif  // SURGE_CLUSTER_VIEW_H_
