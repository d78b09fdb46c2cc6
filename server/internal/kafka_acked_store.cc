#include "server/internal/kafka_acked_store.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/thread_name.h"

namespace surge::server::internal {

KafkaAckedStore::KafkaAckedStore(eventstore::EventStore& store, Options options)
    : store_(store), options_(options) {
  thread_ = std::thread([this] {
    SetCurrentThreadName("surge-ack");
    Run();
  });
}

KafkaAckedStore::~KafkaAckedStore() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void KafkaAckedStore::OnDelivered(uint64_t delivered) {
  absl::MutexLock lock(&mu_);
  if (delivered > delivered_) delivered_ = delivered;
}

size_t KafkaAckedStore::waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_.size();
}

void KafkaAckedStore::AppendAsync(eventstore::AppendRequest request, AppendCallback done) {
  store_.AppendAsync(std::move(request), [this, done = std::move(done)](
                                             absl::StatusOr<eventstore::AppendResult> result) {
    if (!result.ok() || result->last_position == 0) return done(std::move(result));
    {
      absl::MutexLock lock(&mu_);
      if (!stop_ && result->last_position > delivered_) {
        waiting_.emplace(result->last_position,
                         Waiter{absl::Now() + options_.timeout, *std::move(result), done});
        return;
      }
    }
    done(std::move(result));
  });
}

absl::StatusOr<eventstore::AppendResult> KafkaAckedStore::Append(
    eventstore::AppendRequest request) {
  absl::Notification answered;
  absl::StatusOr<eventstore::AppendResult> answer;
  AppendAsync(std::move(request), [&](absl::StatusOr<eventstore::AppendResult> result) {
    answer = std::move(result);
    answered.Notify();
  });
  answered.WaitForNotification();
  return answer;
}

void KafkaAckedStore::Run() {
  while (true) {
    std::vector<Waiter> ready;
    std::vector<Waiter> expired;
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      const uint64_t seen = delivered_;
      auto moved = [this, seen]()
                       ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || delivered_ != seen; };
      mu_.AwaitWithTimeout(absl::Condition(&moved), absl::Milliseconds(100));
      stop = stop_;
      while (!waiting_.empty() && waiting_.begin()->first <= delivered_) {
        ready.push_back(std::move(waiting_.begin()->second));
        waiting_.erase(waiting_.begin());
      }
      const absl::Time now = absl::Now();
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (stop || it->second.deadline <= now) {
          expired.push_back(std::move(it->second));
          it = waiting_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (Waiter& w : ready) w.done(std::move(w.result));
    for (Waiter& w : expired) {
      w.done(absl::UnavailableError(absl::StrCat(
          "--ack=kafka: Kafka has not acknowledged the command (log position ",
          w.result.last_position,
          ") in time; it is durable in this node's log and will be relayed; retry with the "
          "same request_id for its answer")));
    }
    if (stop) return;
  }
}

}  // namespace surge::server::internal
