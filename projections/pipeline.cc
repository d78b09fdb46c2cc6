#include "projections/pipeline.h"

#include "common/status_macros.h"
#include "kafka/topics.h"

namespace surge::projections {

absl::StatusOr<std::unique_ptr<ProjectionPipeline>> ProjectionPipeline::Start(
    const Options& options, eventstore::EventStore& store) {
  std::unique_ptr<ProjectionPipeline> pipeline(new ProjectionPipeline(store));
  const std::pair<Projection*, const char*> wiring[] = {
      {&pipeline->stock_, kafka::kStockTopic},
      {&pipeline->saga_, kafka::kOrdersTopic},
      {&pipeline->coupons_, kafka::kCouponsTopic},
  };
  for (const auto& [projection, topic] : wiring) {
    ProjectionRunner::Options runner_options;
    runner_options.bootstrap_servers = options.bootstrap_servers;
    runner_options.topic = topic;
    runner_options.group_id = options.group_id;
    runner_options.retry_attempts = options.retry_attempts;
    runner_options.consumer_config = options.consumer_config;
    runner_options.producer_config = options.producer_config;
    runner_options.on_applied = options.on_applied;
    runner_options.request_replay = options.request_replay;
    runner_options.produce_watch = options.produce_watch;
    runner_options.origin = options.origin;
    runner_options.on_foreign_origin = options.on_foreign_origin;
    runner_options.max_batch = options.max_batch;
    runner_options.backoff_min = options.backoff_min;
    runner_options.backoff_max = options.backoff_max;
    runner_options.metadata_timeout = options.metadata_timeout;
    SURGE_ASSIGN_OR_RETURN(std::unique_ptr<ProjectionRunner> runner,
                           ProjectionRunner::Create(runner_options, *projection, store));
    SURGE_RETURN_IF_ERROR(runner->Start());
    pipeline->dead_letters_.Register(&runner->applier());
    pipeline->runners_.push_back(std::move(runner));
  }
  return pipeline;
}

ProjectionPipeline::~ProjectionPipeline() { runners_.clear(); }

std::vector<ProjectionPipeline::RunnerStats> ProjectionPipeline::GetStats() const {
  std::vector<RunnerStats> out;
  for (const auto& runner : runners_) {
    out.push_back(RunnerStats{runner->applier().projection_name(), runner->applier().topic(),
                              runner->GetStats()});
  }
  return out;
}

}  // namespace surge::projections
