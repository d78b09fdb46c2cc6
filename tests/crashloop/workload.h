// The crash loop's workload: the commands its client threads send (orders on
// plenty and scarce SKUs, restocks, requests for two flash-sale campaigns)
// and the record each client keeps of every command and its outcome. The
// records are the client's own truth the invariant checks start from.
//
//   Workload workload(WorkloadOptions{}, /*seed=*/42, /*thread=*/3);
//   Command next = workload.Next();
//
// Not thread-safe: one Workload per client thread.
#ifndef SURGE_TESTS_CRASHLOOP_WORKLOAD_H_
#define SURGE_TESTS_CRASHLOOP_WORKLOAD_H_

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace surge::crashloop {

enum class CommandKind { kPlaceOrder, kAdjustStock, kRequestCoupon, kCreateCampaign };

const char* CommandKindName(CommandKind kind);

// One mutating command, with the request_id it is (re)sent with.
struct Command {
  CommandKind kind = CommandKind::kPlaceOrder;
  std::string request_id;
  std::string user_id;                                 // orders, coupon requests
  std::vector<std::pair<std::string, int64_t>> lines;  // orders: sku, quantity
  std::string sku;                                     // stock adjustments
  int64_t delta = 0;                                   // stock adjustments (> 0: restock)
  std::string code;                                    // campaigns, coupon requests
  int64_t total_quantity = 0;                          // campaigns
  int64_t per_user_limit = 0;                          // campaigns
};

// What the client knows about one command after sending it, perhaps several
// times (the same request_id each time).
struct CommandRecord {
  Command command;
  // A definitive OK answer was received (from the first send or a retry).
  bool acknowledged = false;
  // A definitive error answer (not retryable) was received: a bug here,
  // since the workload sends only valid commands.
  bool rejected = false;
  int attempts = 0;         // sends, including retries
  int unknown_outcomes = 0; // sends that ended without an answer (error, kill)
  // Answer fields of the acknowledged send.
  bool duplicate = false;   // the server answered from the idempotency key
  std::string order_id;     // PlaceOrder
  uint64_t position = 0;    // log position of the command's (first) event
  std::string last_error;   // the last error seen, for the report
};

// A campaign of the flash sale, created before the load starts.
struct CampaignSpec {
  std::string code;
  int64_t total_quantity = 0;
  int64_t per_user_limit = 0;
};

// A SKU and its stock at the start.
struct SkuSpec {
  std::string sku;
  int64_t initial_stock = 0;
};

struct WorkloadOptions {
  // SKUs; orders pick one or two of them. The scarce ones run out, so many
  // orders are cancelled and multi-line orders exercise the compensation.
  std::vector<SkuSpec> skus = {{"sku-plenty", 1000000}, {"sku-scarce", 30}, {"sku-rare", 5}};
  // The flash sale: one campaign with per-user limit 1, one with limit 2.
  std::vector<CampaignSpec> campaigns = {{"FLASH-L1", 25, 1}, {"FLASH-L2", 60, 2}};
  // Distinct users; few enough that per-user limits are reached.
  int users = 40;
  // Relative weights of the command kinds sent during the load.
  int weight_order = 55;
  int weight_restock = 5;
  int weight_coupon = 40;
};

// Generates one client thread's commands, deterministic for (seed, thread).
class Workload {
 public:
  Workload(WorkloadOptions options, uint64_t seed, int thread);

  // The commands that set the scene: the initial stock and the campaigns.
  static std::vector<Command> Setup(const WorkloadOptions& options);

  Command Next();

 private:
  int64_t Uniform(int64_t lo, int64_t hi);  // inclusive

  WorkloadOptions options_;
  std::mt19937_64 rng_;
  int thread_;
  int64_t sent_ = 0;
};

}  // namespace surge::crashloop

#endif  // SURGE_TESTS_CRASHLOOP_WORKLOAD_H_
