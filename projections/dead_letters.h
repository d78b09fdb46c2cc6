// The dead-letter admin core: lists the dead letters recorded in
// rm_dead_letters and replays one through whatever consumes its topic here
// (a projection's applier on a single node, a decider in a cluster).
// The gRPC DeadLetterService is a thin layer over this.
//
//   DeadLetters dead_letters(*store);
//   dead_letters.Register(&coupon_runner->applier());
//   SURGE_ASSIGN_OR_RETURN(auto entries, dead_letters.List("surge.coupons", 100));
//   SURGE_ASSIGN_OR_RETURN(auto outcome, dead_letters.Replay(entries[0].id()));
//
// Thread-safety: thread-safe. Borrows the store and the registered appliers,
// which must outlive it.
#ifndef SURGE_PROJECTIONS_DEAD_LETTERS_H_
#define SURGE_PROJECTIONS_DEAD_LETTERS_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"
#include "projections/applier.h"
#include "projections/dead_letter_replayer.h"
#include "surge/v1/surge.pb.h"

namespace surge::projections {

class DeadLetters {
 public:
  explicit DeadLetters(eventstore::EventStore& store) : store_(store) {}

  // Makes `applier` the one that replays dead letters of its topic.
  void Register(ProjectionApplier* applier);
  // Makes `replayer` the one that replays dead letters of `topic`.
  void Register(const std::string& topic, DeadLetterReplayer* replayer);

  // Dead letters of an original topic ("" = all), at most `limit` (0 = 100),
  // in key order (DLT topic, partition, then offset as text).
  absl::StatusOr<std::vector<v1::DeadLetter>> List(const std::string& topic, size_t limit);

  // Hands the dead letter to the replayer of its original topic (see
  // ProjectionApplier and cluster::Decider for what each does). NOT_FOUND
  // for an unknown id; FAILED_PRECONDITION when nothing consumes its topic
  // here; applied=false when already replayed.
  absl::StatusOr<ProjectionApplier::ReplayResult> Replay(const std::string& id);

 private:
  eventstore::EventStore& store_;
  absl::Mutex mu_;
  std::map<std::string, DeadLetterReplayer*> replayers_ ABSL_GUARDED_BY(mu_);  // by topic
};

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_DEAD_LETTERS_H_
