// Orders: random users place orders of 1-3 distinct lines (1-3 units each)
// over S pre-stocked SKUs. The invariant is stock conservation: for every
// SKU, initial - units of confirmed (and not cancelled) orders == available.
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clients/bench/scenarios.h"

namespace surge::bench {
namespace {

absl::StatusOr<v1::Stock> GetStock(BenchClient* client, const std::string& sku) {
  grpc::ClientContext context;
  client->Prepare(&context, /*admin=*/false);
  v1::GetStockRequest request;
  request.set_sku(sku);
  v1::Stock stock;
  grpc::Status status = client->inventory->GetStock(&context, request, &stock);
  if (!status.ok()) return absl::UnavailableError("GetStock: " + status.error_message());
  return stock;
}

class StockConservationCheck : public LogCheck {
 public:
  StockConservationCheck(BenchClient* client, std::vector<std::string> skus, int64_t initial,
                         absl::flat_hash_set<std::string> accepted)
      : client_(client), skus_(std::move(skus)), initial_(initial),
        accepted_(std::move(accepted)) {
    for (const auto& sku : skus_) ours_.insert(sku);
  }

  void Observe(const v1::Event& e) override {
    if (e.has_order_placed()) {
      bool mine = false;
      for (const auto& line : e.order_placed().lines()) mine |= ours_.contains(line.sku());
      if (mine) placed_[e.order_placed().order_id()] = e.order_placed();
    } else if (e.has_order_confirmed()) {
      confirmed_.insert(e.order_confirmed().order_id());
    } else if (e.has_order_cancelled()) {
      cancelled_.insert(e.order_cancelled().order_id());
    }
  }

  absl::Status Finish(std::string* summary) override {
    absl::flat_hash_map<std::string, int64_t> sold;
    int64_t confirmed = 0, cancelled = 0;
    for (const auto& [id, placed] : placed_) {
      const bool is_cancelled = cancelled_.contains(id);
      cancelled += is_cancelled;
      if (!confirmed_.contains(id) || is_cancelled) continue;
      ++confirmed;
      for (const auto& line : placed.lines()) sold[line.sku()] += line.quantity();
    }
    *summary = absl::StrCat(placed_.size(), " orders: ", confirmed, " confirmed, ", cancelled,
                            " cancelled, over ", skus_.size(), " SKUs");
    for (const auto& id : accepted_) {
      if (!placed_.contains(id)) {
        return absl::FailedPreconditionError(
            absl::StrCat("accepted order ", id, " has no OrderPlaced in the log"));
      }
    }
    for (const auto& [id, placed] : placed_) {
      if (!confirmed_.contains(id) && !cancelled_.contains(id)) {
        return absl::FailedPreconditionError(absl::StrCat("order ", id, " is not decided"));
      }
    }
    for (const auto& sku : skus_) {
      auto stock = GetStock(client_, sku);
      if (!stock.ok()) return absl::FailedPreconditionError(stock.status().message());
      const int64_t expected = initial_ - sold[sku];
      if (stock->available() < 0 || stock->available() != expected) {
        return absl::FailedPreconditionError(absl::StrCat(
            "stock of ", sku, ": available ", stock->available(), " != initial ", initial_,
            " - confirmed ", sold[sku], " = ", expected));
      }
    }
    return absl::OkStatus();
  }

 private:
  BenchClient* client_;
  std::vector<std::string> skus_;
  absl::flat_hash_set<std::string> ours_;
  int64_t initial_;
  absl::flat_hash_set<std::string> accepted_;
  absl::flat_hash_map<std::string, v1::OrderPlaced> placed_;
  absl::flat_hash_set<std::string> confirmed_;
  absl::flat_hash_set<std::string> cancelled_;
};

class OrderScenario : public Scenario {
 public:
  OrderScenario(const ScenarioOptions& options, BenchClient* client, SettleTracker* tracker)
      : options_(options), client_(client), tracker_(tracker) {
    for (int64_t i = 0; i < options.skus; ++i) {
      skus_.push_back(absl::StrCat(options.run_id, "-sku", i));
    }
  }

  absl::Status Setup() override {
    for (const auto& sku : skus_) {
      grpc::ClientContext context;
      client_->Prepare(&context, /*admin=*/true);
      v1::AdjustStockRequest request;
      request.set_request_id(sku + "-restock");
      request.set_sku(sku);
      request.set_delta(options_.initial_stock);
      v1::AdjustStockResponse response;
      grpc::Status status = client_->inventory->AdjustStock(&context, request, &response);
      if (!status.ok()) {
        return absl::UnavailableError("AdjustStock " + sku + ": " + status.error_message());
      }
    }
    // Orders placed before the restock is applied would fail for no stock.
    if (!options_.wait_ready) return absl::OkStatus();
    const absl::Time deadline = absl::Now() + options_.ready_timeout;
    for (const auto& sku : skus_) {
      while (true) {
        auto stock = GetStock(client_, sku);
        if (stock.ok() && stock->available() == options_.initial_stock) break;
        if (absl::Now() > deadline) {
          return absl::DeadlineExceededError("restock of " + sku + " not visible");
        }
        absl::SleepFor(absl::Milliseconds(20));  // setup only, not measured
      }
    }
    return absl::OkStatus();
  }

  void Start(uint64_t index, bool measured, LoadDriver::Done done) override {
    struct Call {
      grpc::ClientContext context;
      v1::PlaceOrderRequest request;
      v1::PlaceOrderResponse response;
    };
    auto* call = new Call;
    client_->Prepare(&call->context, /*admin=*/false);
    const uint64_t r = Mix(options_.seed, index, 2);
    call->request.set_request_id(absl::StrCat(options_.run_id, "-o", index));
    call->request.set_user_id(
        absl::StrCat("u", Mix(options_.seed, index, 3) % static_cast<uint64_t>(options_.users)));
    const size_t n_skus = skus_.size();
    const size_t lines = std::min<size_t>(1 + r % 3, n_skus);
    const size_t first = (r >> 8) % n_skus;
    for (size_t l = 0; l < lines; ++l) {
      auto* line = call->request.add_lines();
      line->set_sku(skus_[(first + l) % n_skus]);  // distinct SKUs
      line->set_quantity(1 + static_cast<int64_t>((r >> (16 + 2 * l)) % 3));
    }
    client_->orders->async()->PlaceOrder(
        &call->context, &call->request, &call->response,
        [this, call, measured, done = std::move(done)](grpc::Status status) {
          std::unique_ptr<Call> owned(call);
          if (status.ok()) {
            if (tracker_ != nullptr) {
              tracker_->Accepted("o:" + call->response.order_id(), absl::Now(), measured);
            }
            absl::MutexLock lock(&mu_);
            accepted_.insert(call->response.order_id());
          }
          done(status);
        });
  }

  std::unique_ptr<LogCheck> NewCheck() override {
    absl::MutexLock lock(&mu_);
    return std::make_unique<StockConservationCheck>(client_, skus_, options_.initial_stock,
                                                    accepted_);
  }

 private:
  const ScenarioOptions options_;
  BenchClient* client_;
  SettleTracker* tracker_;
  std::vector<std::string> skus_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> accepted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Scenario> MakeOrderScenario(const ScenarioOptions& options,
                                            BenchClient* client, SettleTracker* tracker) {
  return std::make_unique<OrderScenario>(options, client, tracker);
}

}  // namespace surge::bench
