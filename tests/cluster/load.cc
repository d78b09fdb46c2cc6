#include "tests/cluster/load.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/cluster/rpc.h"

namespace surge::cluster_test {

LoadRunner::LoadRunner(Options options, int64_t count, std::function<LoadCommand(int64_t)> make)
    : options_(options), count_(count), make_(std::move(make)) {
  absl::MutexLock lock(&mu_);
  records_.resize(static_cast<size_t>(count_));
}

LoadRunner::~LoadRunner() {
  Stop();
  Join();
}

void LoadRunner::SetTarget(int node, std::shared_ptr<grpc::Channel> channel) {
  absl::MutexLock lock(&mu_);
  targets_[node] = std::move(channel);
}

void LoadRunner::RemoveTarget(int node) {
  absl::MutexLock lock(&mu_);
  targets_.erase(node);
}

void LoadRunner::Start() {
  start_ = absl::Now();
  for (int t = 0; t < options_.threads; ++t) threads_.emplace_back([this] { Run(); });
}

void LoadRunner::Stop() { stop_.store(true); }

void LoadRunner::Join() {
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

bool LoadRunner::WaitAcked(int64_t n, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (acked_.load() < n) {
    if (absl::Now() >= deadline || finished_.load() >= count_) return acked_.load() >= n;
    absl::SleepFor(absl::Milliseconds(20));  // polling a counter under a deadline
  }
  return true;
}

std::vector<LoadRecord> LoadRunner::Records() const {
  absl::MutexLock lock(&mu_);
  std::vector<LoadRecord> out;
  for (const LoadRecord& r : records_) {
    if (r.started) out.push_back(r);
  }
  return out;
}

int LoadRunner::PickTarget(int64_t index, int attempt, std::shared_ptr<grpc::Channel>* channel) {
  absl::MutexLock lock(&mu_);
  if (targets_.empty()) return -1;
  auto it = targets_.begin();
  std::advance(it, static_cast<size_t>((index + attempt) % static_cast<int64_t>(targets_.size())));
  *channel = it->second;
  return it->first;
}

void LoadRunner::Run() {
  while (!stop_.load()) {
    const int64_t index = next_.fetch_add(1);
    if (index >= count_) return;
    if (options_.rate_per_s > 0) {
      // Pacing of the offered load: command i is due at start + i / rate.
      const absl::Time due =
          start_ + absl::Seconds(static_cast<double>(index) / options_.rate_per_s);
      absl::SleepFor(due - absl::Now());
      if (stop_.load()) return;
    }
    LoadRecord record;
    record.command = make_(index);
    record.started = true;
    Send(&record, index);
    {
      absl::MutexLock lock(&mu_);
      records_[static_cast<size_t>(index)] = record;
    }
    if (record.acked) acked_.fetch_add(1);
    finished_.fetch_add(1);
  }
}

void LoadRunner::Send(LoadRecord* record, int64_t index) {
  const absl::Time give_up = absl::Now() + options_.give_up_after;
  const LoadCommand& c = record->command;
  for (int attempt = 0; attempt < options_.max_attempts && absl::Now() < give_up; ++attempt) {
    std::shared_ptr<grpc::Channel> channel;
    const int node = PickTarget(index, attempt, &channel);
    if (node < 0) {
      record->last_error = "no target";
      absl::SleepFor(absl::Milliseconds(100));  // waiting for a target to be published
      continue;
    }
    record->tried.push_back(node);
    absl::Status status;
    if (c.kind == LoadCommand::Kind::kRequestCoupon) {
      auto r = rpc::RequestCoupon(channel, c.request_id, c.user_id, c.code, options_.rpc_timeout);
      status = r.status();
      if (r.ok()) record->duplicate = r->duplicate();
    } else {
      auto r = rpc::PlaceOrder(channel, c.request_id, c.user_id, {{c.sku, c.quantity}},
                               options_.rpc_timeout);
      status = r.status();
      if (r.ok()) {
        record->duplicate = r->duplicate();
        record->order_id = r->order_id();
      }
    }
    if (status.ok()) {
      record->acked = true;
      record->acked_by = node;
      record->acked_at = absl::Now();
      return;
    }
    record->last_error = absl::StrCat("n", node + 1, ": ", status.ToString());
    if (status.code() == absl::StatusCode::kInvalidArgument) return;  // a bad command: no retry
    // Back off a little once every target has been tried.
    size_t targets = 1;
    {
      absl::MutexLock lock(&mu_);
      targets = std::max<size_t>(1, targets_.size());
    }
    if ((attempt + 1) % targets == 0) absl::SleepFor(absl::Milliseconds(100));  // retry backoff
  }
}

Acknowledged LoadRunner::AcknowledgedOf(const std::vector<LoadRecord>& records) {
  Acknowledged a;
  for (const LoadRecord& r : records) {
    if (!r.acked) continue;
    if (r.command.kind == LoadCommand::Kind::kRequestCoupon) {
      a.coupon_request_ids.insert(r.command.request_id);
    } else {
      a.order_ids.insert(r.order_id);
    }
  }
  return a;
}

std::string LoadRunner::Describe(const std::vector<LoadRecord>& records) {
  int64_t acked = 0, failed = 0, retried = 0;
  std::map<int, int64_t> by_node;
  std::vector<std::string> errors;
  for (const LoadRecord& r : records) {
    if (r.tried.size() > 1) ++retried;
    if (r.acked) {
      ++acked;
      ++by_node[r.acked_by];
    } else {
      ++failed;
      if (errors.size() < 5)
        errors.push_back(absl::StrCat(r.command.request_id, ": ", r.last_error));
    }
  }
  std::vector<std::string> nodes;
  for (const auto& [node, n] : by_node) nodes.push_back(absl::StrCat("n", node + 1, "=", n));
  return absl::StrCat("acked ", acked, " of ", records.size(), " (", absl::StrJoin(nodes, " "),
                      "), ", retried, " sent to more than one node, ", failed, " never acked",
                      errors.empty() ? "" : absl::StrCat("; e.g. ", absl::StrJoin(errors, " | ")));
}

}  // namespace surge::cluster_test
