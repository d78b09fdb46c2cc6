// The server's projections in one object: the stock projection on
// surge.stock, the order saga on surge.orders and the coupon projection on
// surge.coupons, each with its ProjectionRunner, plus the DeadLetters core
// over them. The server creates it after the relay and destroys it before.
//
//   ProjectionPipeline::Options options;
//   options.bootstrap_servers = broker->bootstrap_servers();
//   options.on_applied = [&] { notifier.Notify(); relay->NotifyApplied(); };
//   options.request_replay = [&](uint64_t from) { relay->RequestReplay(from); };
//   SURGE_ASSIGN_OR_RETURN(auto pipeline, ProjectionPipeline::Start(options, *store));
//   dead_letter_service = ...(pipeline->dead_letters());
//
// Thread-safety: dead_letters() and GetStats() from any thread. Borrows the
// store, which must outlive it. Destruction stops every runner.
#ifndef SURGE_PROJECTIONS_PIPELINE_H_
#define SURGE_PROJECTIONS_PIPELINE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "eventstore/event_store.h"
#include "projections/coupon_projection.h"
#include "projections/dead_letters.h"
#include "projections/order_saga_projection.h"
#include "projections/runner.h"
#include "projections/stock_projection.h"

namespace surge::projections {

class ProjectionPipeline {
 public:
  // Applied to every runner; see ProjectionRunner::Options for each field.
  struct Options {
    // --- behaviour ---
    std::string bootstrap_servers;  // required
    std::string group_id = "surge-projections";
    int retry_attempts = 5;
    std::map<std::string, std::string> consumer_config;
    std::map<std::string, std::string> producer_config;
    std::function<void()> on_applied;
    std::function<void(uint64_t from_position)> request_replay;
    const kafka::ProduceWatch* produce_watch = nullptr;  // idle runners park on it
    std::string origin;  // this node's log; other logs' events stop the runners
    std::function<void(const std::string&)> on_foreign_origin;
    // --- timing / performance ---
    size_t max_batch = 500;
    absl::Duration backoff_min = absl::Milliseconds(20);
    absl::Duration backoff_max = absl::Seconds(1);
    absl::Duration metadata_timeout = absl::Seconds(10);
  };

  // Creates and starts the three runners. The first error stops the ones
  // already started and is returned.
  static absl::StatusOr<std::unique_ptr<ProjectionPipeline>> Start(const Options& options,
                                                                   eventstore::EventStore& store);
  ~ProjectionPipeline();

  DeadLetters& dead_letters() { return dead_letters_; }
  // (projection name, topic, stats) of every runner, for metrics.
  struct RunnerStats {
    std::string projection;
    std::string topic;
    ProjectionRunner::Stats stats;
  };
  std::vector<RunnerStats> GetStats() const;

 private:
  explicit ProjectionPipeline(eventstore::EventStore& store) : dead_letters_(store) {}

  StockProjection stock_;
  OrderSagaProjection saga_;
  CouponProjection coupons_;
  DeadLetters dead_letters_;
  // Declared last: destroyed (stopped) first, before what they borrow.
  std::vector<std::unique_ptr<ProjectionRunner>> runners_;
};

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_PIPELINE_H_
