// --ack=kafka: an EventStore whose appends are answered only once the relay
// has delivered every event of the append to Kafka (acks=all), so losing
// this node together with its disk loses no acknowledged command. Every
// other call goes straight to the wrapped store. The command handler gets
// this store; projections, deciders and the relay get the plain one.
//
//   KafkaAckedStore acked(*store, {.timeout = absl::Seconds(10)});
//   relay_options.on_delivered = [&](uint64_t p) { acked.OnDelivered(p); };
//   domain::CommandHandler commands(acked);
//
// An append not delivered within Options::timeout is answered UNAVAILABLE
// (it is durable in the local log and will still be relayed; a retry with
// the same request_id answers its first result).
//
// Thread-safety: thread-safe. One internal thread answers the waiting
// appends (callbacks run on it). Borrows the store.
#ifndef SURGE_SERVER_INTERNAL_KAFKA_ACKED_STORE_H_
#define SURGE_SERVER_INTERNAL_KAFKA_ACKED_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"

namespace surge::server::internal {

class KafkaAckedStore : public eventstore::EventStore {
 public:
  struct Options {
    // Longest an append waits for Kafka before it is answered UNAVAILABLE.
    absl::Duration timeout = absl::Seconds(10);
  };

  KafkaAckedStore(eventstore::EventStore& store, Options options);
  ~KafkaAckedStore() override;  // answers what still waits (UNAVAILABLE)

  // Every position <= `delivered` is in Kafka. Called by the relay.
  void OnDelivered(uint64_t delivered);

  absl::StatusOr<eventstore::AppendResult> Append(eventstore::AppendRequest request) override;
  void AppendAsync(eventstore::AppendRequest request, AppendCallback done) override;

  absl::StatusOr<std::vector<v1::Event>> ReadAll(uint64_t from, size_t max) override {
    return store_.ReadAll(from, max);
  }
  absl::StatusOr<std::vector<v1::Event>> ReadStream(const std::string& stream, int64_t from,
                                                    size_t max) override {
    return store_.ReadStream(stream, from, max);
  }
  absl::StatusOr<int64_t> StreamVersion(const std::string& stream) override {
    return store_.StreamVersion(stream);
  }
  uint64_t HeadPosition() const override { return store_.HeadPosition(); }
  bool WaitForHead(uint64_t position, absl::Time deadline) const override {
    return store_.WaitForHead(position, deadline);
  }
  std::unique_ptr<eventstore::Subscription> Subscribe(uint64_t from) override {
    return store_.Subscribe(from);
  }
  absl::StatusOr<std::optional<std::string>> Get(const std::string& cf,
                                                 const std::string& key) override {
    return store_.Get(cf, key);
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(const std::string& cf,
                                                                        const std::string& prefix,
                                                                        size_t limit) override {
    return store_.Scan(cf, prefix, limit);
  }
  absl::StatusOr<std::optional<eventstore::AppendResult>> LookupIdempotencyKey(
      const std::string& key) override {
    return store_.LookupIdempotencyKey(key);
  }
  Stats GetStats() const override { return store_.GetStats(); }
  void SetBatchObserver(BatchObserver observer) override {
    store_.SetBatchObserver(std::move(observer));
  }

  // Appends waiting for Kafka (metrics, tests).
  size_t waiting() const;

 private:
  struct Waiter {
    absl::Time deadline;
    eventstore::AppendResult result;
    AppendCallback done;
  };
  void Run();

  eventstore::EventStore& store_;
  const Options options_;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  // last position of the append -> waiter
  std::multimap<uint64_t, Waiter> waiting_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_KAFKA_ACKED_STORE_H_
