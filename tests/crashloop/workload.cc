#include "tests/crashloop/workload.h"

#include "absl/strings/str_cat.h"

namespace surge::crashloop {

const char* CommandKindName(CommandKind kind) {
  switch (kind) {
    case CommandKind::kPlaceOrder:
      return "PlaceOrder";
    case CommandKind::kAdjustStock:
      return "AdjustStock";
    case CommandKind::kRequestCoupon:
      return "RequestCoupon";
    case CommandKind::kCreateCampaign:
      return "CreateCampaign";
  }
  return "?";
}

Workload::Workload(WorkloadOptions options, uint64_t seed, int thread)
    // Distinct, reproducible streams per thread from one printed seed.
    : options_(std::move(options)), rng_(seed * 1000003 + static_cast<uint64_t>(thread)),
      thread_(thread) {}

std::vector<Command> Workload::Setup(const WorkloadOptions& options) {
  std::vector<Command> setup;
  for (const SkuSpec& sku : options.skus) {
    Command c;
    c.kind = CommandKind::kAdjustStock;
    c.request_id = absl::StrCat("setup-stock-", sku.sku);
    c.sku = sku.sku;
    c.delta = sku.initial_stock;
    setup.push_back(std::move(c));
  }
  for (const CampaignSpec& campaign : options.campaigns) {
    Command c;
    c.kind = CommandKind::kCreateCampaign;
    c.request_id = absl::StrCat("setup-campaign-", campaign.code);
    c.code = campaign.code;
    c.total_quantity = campaign.total_quantity;
    c.per_user_limit = campaign.per_user_limit;
    setup.push_back(std::move(c));
  }
  return setup;
}

int64_t Workload::Uniform(int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
}

Command Workload::Next() {
  Command c;
  const int64_t n = sent_++;
  const int64_t total =
      options_.weight_order + options_.weight_restock + options_.weight_coupon;
  const int64_t pick = Uniform(0, total - 1);
  const int64_t last_sku = static_cast<int64_t>(options_.skus.size()) - 1;
  if (pick < options_.weight_order) {
    c.kind = CommandKind::kPlaceOrder;
    c.request_id = absl::StrCat("order-t", thread_, "-", n);
    c.user_id = absl::StrCat("u", Uniform(0, options_.users - 1));
    const int64_t first = Uniform(0, last_sku);
    c.lines.emplace_back(options_.skus[first].sku, Uniform(1, 3));
    // One order in four has a second line on another SKU: when one line
    // fails, the other is given back (the saga's compensation).
    if (last_sku > 0 && Uniform(0, 3) == 0) {
      const int64_t second = (first + Uniform(1, last_sku)) % (last_sku + 1);
      c.lines.emplace_back(options_.skus[second].sku, Uniform(1, 2));
    }
  } else if (pick < options_.weight_order + options_.weight_restock) {
    c.kind = CommandKind::kAdjustStock;
    c.request_id = absl::StrCat("restock-t", thread_, "-", n);
    c.sku = options_.skus[Uniform(0, last_sku)].sku;
    c.delta = Uniform(1, 4);
  } else {
    c.kind = CommandKind::kRequestCoupon;
    c.request_id = absl::StrCat("coupon-t", thread_, "-", n);
    c.user_id = absl::StrCat("u", Uniform(0, options_.users - 1));
    c.code = options_.campaigns[Uniform(0, static_cast<int64_t>(options_.campaigns.size()) - 1)].code;
  }
  return c;
}

}  // namespace surge::crashloop
