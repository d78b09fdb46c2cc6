// What the relay has put on each event topic, for consumers that would
// rather wait than poll an empty broker.
//
// librdkafka's mock cluster (the embedded broker) holds an empty fetch for
// the whole fetch.wait.max.ms, even when data arrives meanwhile, so surge
// fetches with a 1 ms wait: about a thousand round trips per second per
// consumer, 15-20% of a core for an idle server. In a single node the relay
// is the only producer of the event topics, so it knows when there is
// nothing new: a consumer that has consumed past every offset the relay got
// delivered, while nothing is in flight, can pause its partitions and sleep
// until the relay produces again.
//
//   relay side (relay thread):    watch.OnProduced(topic);  ... watch.OnDelivered(topic, p, offset);
//   consumer side:
//     ProduceWatch::Ticket t = watch.Take(topic);
//     if (watch.CaughtUp(t, topic, positions)) { pause; watch.AwaitProduced(t, deadline); resume; }
//
// Thread-safety: every method is thread-safe.
#ifndef SURGE_KAFKA_PRODUCE_WATCH_H_
#define SURGE_KAFKA_PRODUCE_WATCH_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace surge::kafka {

class ProduceWatch {
 public:
  // Sequence of produce calls on one topic, as seen by a consumer before it
  // decides to sleep: anything produced after it moves the sequence.
  struct Ticket {
    uint64_t produced = 0;
  };

  // A message was handed to the producer for `topic` (it is in flight until
  // OnDelivered or OnFailed). Wakes every consumer of the topic.
  void OnProduced(const std::string& topic);
  // Kafka acknowledged a message of `topic` at (partition, offset).
  void OnDelivered(const std::string& topic, int32_t partition, int64_t offset);
  // A message of `topic` failed (the relay will produce it again).
  void OnFailed(const std::string& topic);

  Ticket Take(const std::string& topic) const;

  // True when nothing of `topic` is in flight, nothing was produced since
  // `ticket`, and for every partition the relay delivered to, the
  // consumer's next offset (`next_offsets`, -1 = nothing consumed yet) is
  // past the highest delivered offset. Partitions absent from
  // `next_offsets` count as nothing consumed.
  bool CaughtUp(const Ticket& ticket, const std::string& topic,
                const std::map<int32_t, int64_t>& next_offsets) const;

  // Blocks until something is produced on `topic` after `ticket`, or
  // `deadline`. True when something was.
  bool AwaitProduced(const Ticket& ticket, const std::string& topic, absl::Time deadline) const;

 private:
  struct TopicState {
    uint64_t produced = 0;
    uint64_t in_flight = 0;
    std::map<int32_t, int64_t> highest_delivered;
  };

  mutable absl::Mutex mu_;
  std::map<std::string, TopicState> topics_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::kafka

#endif  // SURGE_KAFKA_PRODUCE_WATCH_H_
