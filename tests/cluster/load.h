// Client load spread over the nodes of a cluster, as a client library that
// retries on another node would send it: command i goes first to target
// i % targets; when a node does not answer (killed, stopped, restarting) or
// refuses, the SAME request_id is sent to the next target, so a command may
// reach two nodes (cross-node idempotency). Every command's fate is
// recorded: acknowledged by which node and when, or the last error.
//
//   LoadRunner load({.threads = 4, .rate_per_s = 300}, count, MakeCommand);
//   load.SetTarget(0, cluster->Channel(0));  ...
//   load.Start();
//   load.WaitAcked(100, absl::Seconds(30));
//   load.RemoveTarget(2);                   // optional: a client that knows
//   load.Join();
//
// Thread-safe: targets may change while the threads run.
#ifndef SURGE_TESTS_CLUSTER_LOAD_H_
#define SURGE_TESTS_CLUSTER_LOAD_H_

#include <grpcpp/channel.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/cluster/checker.h"

namespace surge::cluster_test {

struct LoadCommand {
  enum class Kind { kRequestCoupon, kPlaceOrder };
  Kind kind = Kind::kRequestCoupon;
  std::string request_id;
  std::string user_id;
  std::string code;      // coupons
  std::string sku;       // orders (one line)
  int64_t quantity = 1;  // orders
};

struct LoadRecord {
  LoadCommand command;
  bool started = false;
  bool acked = false;
  int acked_by = -1;  // node index
  absl::Time acked_at;
  bool duplicate = false;  // the acknowledging node said duplicate
  std::string order_id;    // PlaceOrder
  std::vector<int> tried;  // node index of every attempt, in order
  std::string last_error;
};

class LoadRunner {
 public:
  struct Options {
    int threads = 4;
    double rate_per_s = 0;  // 0 = as fast as the threads go
    absl::Duration rpc_timeout = absl::Seconds(3);
    absl::Duration give_up_after = absl::Seconds(60);
    int max_attempts = 40;
  };

  LoadRunner(Options options, int64_t count, std::function<LoadCommand(int64_t)> make);
  ~LoadRunner();  // Stop() and Join()

  void SetTarget(int node, std::shared_ptr<grpc::Channel> channel);
  void RemoveTarget(int node);

  void Start();
  // No new commands after this; commands in flight finish (or give up).
  void Stop();
  void Join();

  int64_t acked() const { return acked_.load(); }
  int64_t finished() const { return finished_.load(); }
  // Waits until at least n commands are acknowledged. False on timeout.
  bool WaitAcked(int64_t n, absl::Duration timeout) const;

  // Copies of every started command's record (complete after Join()).
  std::vector<LoadRecord> Records() const;

  // The acknowledged commands of `records`, for the checker.
  static Acknowledged AcknowledgedOf(const std::vector<LoadRecord>& records);
  // "acked A of N; failed F; by node {...}; first errors: ..."
  static std::string Describe(const std::vector<LoadRecord>& records);

 private:
  void Run();
  void Send(LoadRecord* record, int64_t index);
  // The target for attempt `attempt` of command `index`; -1 when none.
  int PickTarget(int64_t index, int attempt, std::shared_ptr<grpc::Channel>* channel);

  const Options options_;
  const int64_t count_;
  const std::function<LoadCommand(int64_t)> make_;

  mutable absl::Mutex mu_;
  std::map<int, std::shared_ptr<grpc::Channel>> targets_ ABSL_GUARDED_BY(mu_);
  std::vector<LoadRecord> records_ ABSL_GUARDED_BY(mu_);

  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> finished_{0};
  std::atomic<bool> stop_{false};
  absl::Time start_;
  std::vector<std::thread> threads_;
};

}  // namespace surge::cluster_test

#endif  // SURGE_TESTS_CLUSTER_LOAD_H_
