#include "tests/cluster/checker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace surge::cluster_test {
namespace {

constexpr char kKafkaSource[] = "kafka";

// The event without its envelope (position, ids, times, node): what two
// copies of one decision must agree on.
std::string PayloadBytes(const v1::Event& e) {
  v1::Event payload = e;
  payload.clear_position();
  payload.clear_stream_id();
  payload.clear_stream_version();
  payload.clear_event_id();
  payload.clear_request_id();
  payload.clear_correlation_id();
  payload.clear_causation_id();
  payload.clear_recorded_at();
  payload.clear_node_id();
  return payload.SerializeAsString();
}

// The payload, then the envelope fields that tell copies apart.
std::string Brief(const v1::Event& e) {
  v1::Event payload = e;
  payload.clear_position();
  payload.clear_stream_id();
  payload.clear_stream_version();
  payload.clear_event_id();
  payload.clear_request_id();
  payload.clear_correlation_id();
  payload.clear_causation_id();
  payload.clear_recorded_at();
  payload.clear_node_id();
  std::string text = payload.ShortDebugString();
  if (text.size() > 200) text = absl::StrCat(text.substr(0, 200), "...");
  return absl::StrCat("{", text, "} [node ", e.node_id(), " position ", e.position(), " request ",
                      e.request_id(), " causation ", e.causation_id(), "]");
}

std::string KeyOf(const std::string& source, const v1::Event& e) {
  if (!e.event_id().empty()) return e.event_id();
  return absl::StrCat(source, "@", e.position());
}

struct Conflict {
  std::string event_id;
  std::string first_source, second_source;
  const v1::Event* first = nullptr;
  const v1::Event* second = nullptr;
};

// The keys an event names.
void NoteKeys(const v1::Event& e, Union* u) {
  switch (e.payload_case()) {
    case v1::Event::kOrderPlaced:
      u->order_ids.insert(e.order_placed().order_id());
      for (const v1::OrderLine& line : e.order_placed().lines()) u->skus.insert(line.sku());
      break;
    case v1::Event::kOrderConfirmed:
      u->order_ids.insert(e.order_confirmed().order_id());
      break;
    case v1::Event::kOrderCancelled:
      u->order_ids.insert(e.order_cancelled().order_id());
      break;
    case v1::Event::kStockDecreaseRequested:
      u->skus.insert(e.stock_decrease_requested().sku());
      break;
    case v1::Event::kStockDecreased:
      u->skus.insert(e.stock_decreased().sku());
      break;
    case v1::Event::kStockDecreaseFailed:
      u->skus.insert(e.stock_decrease_failed().sku());
      break;
    case v1::Event::kStockReleased:
      u->skus.insert(e.stock_released().sku());
      break;
    case v1::Event::kStockAdjusted:
      u->skus.insert(e.stock_adjusted().sku());
      break;
    case v1::Event::kCampaignCreated:
      u->codes.insert(e.campaign_created().code());
      break;
    case v1::Event::kCouponRequested:
      u->codes.insert(e.coupon_requested().code());
      u->coupon_request_ids.insert(e.coupon_requested().request_id());
      break;
    case v1::Event::kCouponIssued:
      u->codes.insert(e.coupon_issued().code());
      u->coupon_request_ids.insert(e.coupon_issued().request_id());
      break;
    case v1::Event::kCouponRejected:
      u->codes.insert(e.coupon_rejected().code());
      u->coupon_request_ids.insert(e.coupon_rejected().request_id());
      break;
    default:
      break;
  }
}

Union BuildUnion(const ClusterSnapshot& snapshot, std::vector<Conflict>* conflicts) {
  Union u;
  std::map<std::string, std::string> first_source;
  // Copies of one event (same id, same payload) count once. Two different
  // events under one id are a violation (reported by the caller); both are
  // kept, the later under "<id>#conflict<n>", so that the other checks still
  // see every distinct event.
  auto add = [&](const std::string& source, const v1::Event& e) {
    const std::string base = KeyOf(source, e);
    std::string key = base;
    const std::string payload = PayloadBytes(e);
    for (int variant = 1;; ++variant) {
      auto [it, inserted] = u.by_id.try_emplace(key, e);
      if (inserted) {
        u.sources[key].insert(source);
        first_source[key] = source;
        NoteKeys(e, &u);
        if (variant > 1 && conflicts != nullptr) {
          const v1::Event& first = u.by_id.at(base);
          conflicts->push_back({base, first_source[base], source, &first, &it->second});
        }
        return;
      }
      if (PayloadBytes(it->second) == payload) {
        u.sources[key].insert(source);
        return;
      }
      key = absl::StrCat(base, "#conflict", variant);
    }
  };
  for (const NodeSnapshot& node : snapshot.nodes) {
    for (const v1::Event& e : node.log) add(node.node, e);
  }
  for (const v1::Event& e : snapshot.kafka) add(kKafkaSource, e);
  return u;
}

std::string LineKey(const std::string& order_id, int32_t line) {
  return absl::StrCat(order_id, "#", line);
}

// Distinct values of one business key, each with the event ids saying it.
using Values = std::map<std::string, std::set<std::string>>;

std::string DescribeValues(const Values& values) {
  std::vector<std::string> parts;
  for (const auto& [value, ids] : values) {
    parts.push_back(absl::StrCat("{", value, "} by ", absl::StrJoin(ids, ",")));
  }
  return absl::StrJoin(parts, " vs ");
}

std::string OrderView(const v1::Order* o) {
  if (o == nullptr) return "NOT_FOUND";
  std::vector<std::string> lines;
  for (const v1::OrderLine& l : o->lines())
    lines.push_back(absl::StrCat(l.sku(), ":", l.quantity()));
  return absl::StrCat(v1::OrderStatus_Name(o->status()), " user=", o->user_id(), " lines=[",
                      absl::StrJoin(lines, ","), "] reason=\"", o->reason(), "\"");
}

std::string StockView(const v1::Stock* s) {
  if (s == nullptr) return "NOT_FOUND";
  return absl::StrCat("available=", s->available(), " reserved=", s->reserved_total());
}

std::string CampaignView(const v1::Campaign* c) {
  if (c == nullptr) return "NOT_FOUND";
  return absl::StrCat("total=", c->total_quantity(), " issued=", c->issued(),
                      " remaining=", c->remaining(), " per_user_limit=", c->per_user_limit());
}

std::string CouponRequestView(const v1::CouponRequest* r) {
  if (r == nullptr) return "NOT_FOUND";
  return absl::StrCat(v1::CouponRequestStatus_Name(r->status()), " coupon=", r->coupon_id(),
                      " reason=", v1::CouponRejectReason_Name(r->reason()), " user=", r->user_id(),
                      " code=", r->code());
}

template <typename Map>
const typename Map::mapped_type* Find(const Map& map, const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

// The same key must read the same on every node.
template <typename Row>
void CheckAgree(const ClusterSnapshot& snapshot, const std::string& what, const std::string& key,
                std::map<std::string, Row> NodeSnapshot::*rows, std::string (*view)(const Row*),
                ClusterReport* report) {
  if (snapshot.nodes.size() < 2) return;
  std::map<std::string, std::vector<std::string>> by_view;
  for (const NodeSnapshot& node : snapshot.nodes) {
    by_view[view(Find(node.*rows, key))].push_back(node.node);
  }
  std::vector<std::string> parts;
  for (const auto& [v, nodes] : by_view) {
    parts.push_back(absl::StrCat(absl::StrJoin(nodes, ","), ": ", v));
  }
  report->Check(
      kReadModelsAgree, by_view.size() == 1,
      absl::StrCat(what, " ", key, " differs between nodes: ", absl::StrJoin(parts, " | ")));
}

void CheckCoupons(const ClusterSnapshot& snapshot, const Union& u, const Acknowledged& acked,
                  Expected* expected, ClusterReport* report) {
  std::map<std::string, Values> decisions;                          // request id -> decision values
  std::map<std::string, std::set<std::string>> requests_of_coupon;  // coupon id -> request ids
  std::map<std::string, Values> campaign_specs;                     // code -> spec values
  std::map<std::pair<std::string, std::string>, std::set<std::string>>
      held;                                                         // code,user -> coupons
  std::map<std::string, std::vector<const v1::Event*>> rejections;  // code -> rejections
  std::set<std::string> requested;
  for (const auto& [id, e] : u.by_id) {
    switch (e.payload_case()) {
      case v1::Event::kCampaignCreated: {
        const auto& c = e.campaign_created();
        campaign_specs[c.code()][absl::StrCat("total=", c.total_quantity(), " per_user_limit=",
                                              std::max<int64_t>(1, c.per_user_limit()))]
            .insert(id);
        Expected::CampaignRow& row = expected->campaigns[c.code()];
        if (!row.created) {
          row.created = true;
          row.total_quantity = c.total_quantity();
          row.per_user_limit = std::max<int64_t>(1, c.per_user_limit());  // 0 means 1
        }
        break;
      }
      case v1::Event::kCouponRequested:
        requested.insert(e.coupon_requested().request_id());
        break;
      case v1::Event::kCouponIssued: {
        const auto& c = e.coupon_issued();
        decisions[c.request_id()][absl::StrCat("ISSUED coupon=", c.coupon_id())].insert(id);
        requests_of_coupon[c.coupon_id()].insert(c.request_id());
        held[{c.code(), c.user_id()}].insert(c.coupon_id());
        expected->campaigns[c.code()].issued_requests.insert(c.request_id());
        Expected::CouponDecision& d = expected->coupon_requests[c.request_id()];
        d.status = v1::COUPON_REQUEST_STATUS_ISSUED;
        d.coupon_id = c.coupon_id();
        break;
      }
      case v1::Event::kCouponRejected: {
        const auto& c = e.coupon_rejected();
        decisions[c.request_id()]
                 [absl::StrCat("REJECTED ", v1::CouponRejectReason_Name(c.reason()))]
                     .insert(id);
        rejections[c.code()].push_back(&e);
        Expected::CouponDecision& d = expected->coupon_requests[c.request_id()];
        if (d.status != v1::COUPON_REQUEST_STATUS_ISSUED) {
          d.status = v1::COUPON_REQUEST_STATUS_REJECTED;
          d.reason = c.reason();
        }
        break;
      }
      default:
        break;
    }
  }
  for (const std::string& request_id : u.coupon_request_ids) {
    expected->coupon_requests.try_emplace(request_id);  // PENDING when undecided
  }

  // One decision per request; one request per coupon id.
  for (const auto& [request_id, values] : decisions) {
    report->Check(kCouponDecidedOnce, values.size() == 1,
                  absl::StrCat("coupon request ", request_id, " decided ", values.size(),
                               " different ways: ", DescribeValues(values)));
  }
  for (const auto& [coupon_id, request_ids] : requests_of_coupon) {
    report->Check(kCouponDecidedOnce, request_ids.size() == 1,
                  absl::StrCat("coupon ", coupon_id, " issued to ", request_ids.size(),
                               " requests: ", absl::StrJoin(request_ids, ",")));
  }
  // Limits.
  for (const auto& [code, specs] : campaign_specs) {
    report->Check(
        kCouponLimits, specs.size() == 1,
        absl::StrCat("campaign ", code, " created with different specs: ", DescribeValues(specs)));
  }
  for (const auto& [code, row] : expected->campaigns) {
    const int64_t issued = static_cast<int64_t>(row.issued_requests.size());
    report->Check(kCouponLimits, row.created || issued == 0,
                  absl::StrCat("campaign ", code, ": ", issued,
                               " coupons issued but no CampaignCreated anywhere"));
    if (!row.created) continue;
    report->Check(kCouponLimits, issued <= row.total_quantity,
                  absl::StrCat("campaign ", code, ": ", issued, " distinct requests issued of ",
                               row.total_quantity));
    for (const v1::Event* e : rejections[code]) {
      const auto& r = e->coupon_rejected();
      const auto user = held.find({code, r.user_id()});
      const int64_t user_holds = user == held.end() ? 0 : static_cast<int64_t>(user->second.size());
      const std::string where =
          absl::StrCat("campaign ", code, " request ", r.request_id(), " (user ", r.user_id(),
                       ", event ", e->event_id(), ")");
      switch (r.reason()) {
        case v1::COUPON_REJECT_REASON_SOLD_OUT:
          report->Check(kCouponLimits, issued >= row.total_quantity,
                        absl::StrCat(where, ": SOLD_OUT but only ", issued, " of ",
                                     row.total_quantity, " were ever issued"));
          break;
        case v1::COUPON_REJECT_REASON_LIMIT_REACHED:
          report->Check(kCouponLimits, user_holds >= row.per_user_limit,
                        absl::StrCat(where, ": LIMIT_REACHED but the user holds ", user_holds,
                                     " of ", row.per_user_limit));
          break;
        case v1::COUPON_REJECT_REASON_UNKNOWN_CAMPAIGN:
          report->Check(kCouponLimits, false,
                        absl::StrCat(where, ": UNKNOWN_CAMPAIGN, but the campaign was created"));
          break;
        default:
          report->Check(kCouponLimits, false,
                        absl::StrCat(where, ": rejected with reason ",
                                     v1::CouponRejectReason_Name(r.reason())));
      }
    }
  }
  for (const auto& [code_user, coupons] : held) {
    auto campaign = expected->campaigns.find(code_user.first);
    const int64_t limit =
        campaign == expected->campaigns.end() ? 1 : campaign->second.per_user_limit;
    report->Check(
        kCouponLimits, static_cast<int64_t>(coupons.size()) <= limit,
        absl::StrCat("user ", code_user.second, " holds ", coupons.size(), " distinct coupons of ",
                     code_user.first, " (limit ", limit, "): ", absl::StrJoin(coupons, ",")));
  }
  // Settled.
  for (const std::string& request_id : requested) {
    report->Check(kCouponSettled, decisions.contains(request_id),
                  absl::StrCat("coupon request ", request_id, " is in the log but never decided"));
  }
  for (const std::string& request_id : acked.coupon_request_ids) {
    report->Check(kAcknowledged, decisions.contains(request_id),
                  absl::StrCat("acknowledged coupon request ", request_id,
                               requested.contains(request_id) ? " is in the log but undecided"
                                                              : " is nowhere in the cluster"));
  }
  // Every node's read models against the decisions.
  for (const NodeSnapshot& node : snapshot.nodes) {
    for (const auto& [code, row] : expected->campaigns) {
      if (!row.created) continue;
      const v1::Campaign* c = Find(node.campaigns, code);
      const int64_t issued = static_cast<int64_t>(row.issued_requests.size());
      report->Check(kReplay,
                    c != nullptr && c->issued() == issued &&
                        c->total_quantity() == row.total_quantity &&
                        c->remaining() == row.total_quantity - issued,
                    absl::StrCat(node.node, ": GetCampaign ", code, " says ", CampaignView(c),
                                 "; the union says issued=", issued, " of ", row.total_quantity));
    }
    for (const auto& [request_id, d] : expected->coupon_requests) {
      const v1::CouponRequest* r = Find(node.coupon_requests, request_id);
      bool same = r != nullptr && r->status() == d.status;
      if (same && d.status == v1::COUPON_REQUEST_STATUS_ISSUED)
        same = r->coupon_id() == d.coupon_id;
      if (same && d.status == v1::COUPON_REQUEST_STATUS_REJECTED) same = r->reason() == d.reason;
      report->Check(
          kReplay, same,
          absl::StrCat(node.node, ": GetCouponRequest ", request_id, " says ", CouponRequestView(r),
                       "; the union says ", v1::CouponRequestStatus_Name(d.status),
                       " coupon=", d.coupon_id, " reason=", v1::CouponRejectReason_Name(d.reason)));
    }
  }
}

void CheckOrdersAndStock(const ClusterSnapshot& snapshot, const Union& u, const Acknowledged& acked,
                         Expected* expected, ClusterReport* report) {
  std::map<std::string, Values> placed;                        // order id -> lines
  std::map<std::string, std::vector<v1::OrderLine>> lines_of;  // order id -> lines
  std::map<std::string, std::map<std::string, v1::Event::PayloadCase>> terminal;  // order -> id
  std::map<std::string, Values> decreased, failed, released;              // line key -> values
  std::map<std::string, std::pair<std::string, int64_t>> decreased_line;  // line key -> sku, qty
  std::map<std::string, std::pair<std::string, int64_t>> released_line;
  std::map<std::string, std::set<std::string>> requested;  // line key -> StockDecreaseRequested ids
  for (const auto& [id, e] : u.by_id) {
    switch (e.payload_case()) {
      case v1::Event::kStockDecreaseRequested:
        requested[LineKey(e.stock_decrease_requested().order_id(),
                          e.stock_decrease_requested().line_index())]
            .insert(id);
        break;
      case v1::Event::kStockAdjusted:
        expected->stock[e.stock_adjusted().sku()].restocked += e.stock_adjusted().delta();
        break;
      case v1::Event::kStockAdjustmentRejected:  // the adjustment was not applied
        expected->stock[e.stock_adjustment_rejected().sku()].restocked -=
            e.stock_adjustment_rejected().delta();
        break;
      case v1::Event::kOrderPlaced: {
        const auto& p = e.order_placed();
        std::vector<std::string> lines;
        for (const v1::OrderLine& l : p.lines())
          lines.push_back(absl::StrCat(l.sku(), ":", l.quantity()));
        placed[p.order_id()]
              [absl::StrCat("user=", p.user_id(), " lines=", absl::StrJoin(lines, ","))]
                  .insert(id);
        lines_of.try_emplace(p.order_id(), p.lines().begin(), p.lines().end());
        break;
      }
      case v1::Event::kOrderConfirmed:
        terminal[e.order_confirmed().order_id()][id] = e.payload_case();
        break;
      case v1::Event::kOrderCancelled:
        terminal[e.order_cancelled().order_id()][id] = e.payload_case();
        break;
      case v1::Event::kStockDecreased: {
        const auto& d = e.stock_decreased();
        const std::string key = LineKey(d.order_id(), d.line_index());
        decreased[key][absl::StrCat(d.sku(), " x", d.quantity(),
                                    " available_after=", d.available_after())]
            .insert(id);
        decreased_line.try_emplace(key, d.sku(), d.quantity());
        report->Check(kStockNonNegative, d.available_after() >= 0,
                      absl::StrCat("StockDecreased ", id, " of ", d.sku(),
                                   " leaves available_after ", d.available_after()));
        break;
      }
      case v1::Event::kStockDecreaseFailed: {
        const auto& f = e.stock_decrease_failed();
        failed[LineKey(f.order_id(), f.line_index())]
              [absl::StrCat(f.sku(), " x", f.quantity(), " available=", f.available())]
                  .insert(id);
        report->Check(kStockNonNegative, f.available() >= 0,
                      absl::StrCat("StockDecreaseFailed ", id, " of ", f.sku(), " saw available ",
                                   f.available()));
        break;
      }
      case v1::Event::kStockReleased: {
        const auto& r = e.stock_released();
        const std::string key = LineKey(r.order_id(), r.line_index());
        released[key][absl::StrCat(r.sku(), " x", r.quantity(),
                                   " available_after=", r.available_after())]
            .insert(id);
        released_line.try_emplace(key, r.sku(), r.quantity());
        report->Check(kStockNonNegative, r.available_after() >= 0,
                      absl::StrCat("StockReleased ", id, " of ", r.sku(),
                                   " leaves available_after ", r.available_after()));
        break;
      }
      default:
        break;
    }
  }

  // Stock: once per line, by business key.
  for (const auto* family : {&decreased, &failed, &released}) {
    const char* name = family == &decreased ? "decreased"
                       : family == &failed  ? "failed"
                                            : "released";
    for (const auto& [line, values] : *family) {
      report->Check(kStockOncePerLine, values.size() == 1,
                    absl::StrCat("order line ", line, " ", name, " ", values.size(),
                                 " different ways (a second decision on other state): ",
                                 DescribeValues(values)));
    }
  }
  for (const auto& [line, values] : decreased) {
    auto f = failed.find(line);
    report->Check(
        kStockOncePerLine, f == failed.end(),
        absl::StrCat("order line ", line, " both decreased (", DescribeValues(values),
                     ") and failed (", f == failed.end() ? "" : DescribeValues(f->second), ")"));
  }
  for (const auto& [line, values] : released) {
    report->Check(kStockOncePerLine, decreased.contains(line),
                  absl::StrCat("order line ", line, " released (", DescribeValues(values),
                               ") but never decreased"));
  }
  for (const auto& [line, sku_qty] : decreased_line) {
    expected->stock[sku_qty.first].decreased += sku_qty.second;
  }
  for (const auto& [line, sku_qty] : released_line) {
    expected->stock[sku_qty.first].released += sku_qty.second;
  }
  for (const std::string& sku : u.skus) expected->stock.try_emplace(sku);
  for (const auto& [sku, row] : expected->stock) {
    report->Check(
        kStockNonNegative, row.available() >= 0,
        absl::StrCat("replay of ", sku, ": restocked ", row.restocked, " - decreased ",
                     row.decreased, " + released ", row.released, " = ", row.available()));
  }

  // Orders: settled exactly once, consistently with their lines.
  for (const auto& [order_id, values] : placed) {
    report->Check(kOrderSettledOnce, values.size() == 1,
                  absl::StrCat("order ", order_id,
                               " placed with different bodies: ", DescribeValues(values)));
    auto t = terminal.find(order_id);
    const size_t n = t == terminal.end() ? 0 : t->second.size();
    std::vector<std::string> outcomes;
    if (t != terminal.end()) {
      for (const auto& [id, kind] : t->second) {
        outcomes.push_back(absl::StrCat(
            kind == v1::Event::kOrderConfirmed ? "OrderConfirmed " : "OrderCancelled ", id));
      }
    }
    std::string history;
    if (n == 0) {
      // What the cluster knows about the order, to tell where it got stuck.
      auto where = [&](const std::set<std::string>& ids) {
        std::vector<std::string> parts;
        for (const std::string& id : ids) {
          auto src = u.sources.find(id);
          parts.push_back(absl::StrCat(
              id, " in ", src == u.sources.end() ? "?" : absl::StrJoin(src->second, ",")));
        }
        return absl::StrJoin(parts, "; ");
      };
      std::vector<std::string> facts = {absl::StrCat("placed: ", where(values.begin()->second))};
      const size_t line_count = lines_of[order_id].size();
      for (size_t i = 0; i < line_count; ++i) {
        const std::string key = LineKey(order_id, static_cast<int32_t>(i));
        std::string fact = absl::StrCat("line ", i, ": requested ");
        auto req = requested.find(key);
        absl::StrAppend(&fact, req == requested.end() ? "NOWHERE" : where(req->second));
        for (const auto& [name, family] :
             {std::pair{"decreased", &decreased}, {"failed", &failed}, {"released", &released}}) {
          auto it = family->find(key);
          if (it == family->end()) continue;
          std::set<std::string> ids;
          for (const auto& [value, value_ids] : it->second)
            ids.insert(value_ids.begin(), value_ids.end());
          absl::StrAppend(&fact, ", ", name, " ", where(ids));
        }
        if (!decreased.contains(key) && !failed.contains(key)) {
          absl::StrAppend(&fact, ", no stock decision anywhere");
        }
        facts.push_back(fact);
      }
      history = absl::StrCat(" (", absl::StrJoin(facts, " | "), ")");
    }
    report->Check(
        kOrderSettledOnce, n == 1,
        n == 0 ? absl::StrCat("order ", order_id, " was never settled", history)
               : absl::StrCat("order ", order_id, " settled ", n,
                              " times (distinct event ids): ", absl::StrJoin(outcomes, ", ")));
    expected->orders[order_id] = v1::ORDER_STATUS_PENDING;
    if (n == 0) continue;
    // With two outcomes the first one (by event id) stands; the count above
    // already failed.
    const bool confirmed = t->second.begin()->second == v1::Event::kOrderConfirmed;
    expected->orders[order_id] =
        confirmed ? v1::ORDER_STATUS_CONFIRMED : v1::ORDER_STATUS_CANCELLED;
    const std::vector<v1::OrderLine>& lines = lines_of[order_id];
    int failed_lines = 0;
    for (int32_t i = 0; i < static_cast<int32_t>(lines.size()); ++i) {
      const std::string key = LineKey(order_id, i);
      const bool dec = decreased.contains(key);
      const bool fail = failed.contains(key);
      const bool rel = released.contains(key);
      failed_lines += fail ? 1 : 0;
      report->Check(kOrderSettledOnce, dec || fail,
                    absl::StrCat("order ", order_id, " is ", confirmed ? "confirmed" : "cancelled",
                                 " but its line ", i, " was never decided by stock"));
      if (confirmed) {
        report->Check(
            kOrderSettledOnce, dec && !fail && !rel,
            absl::StrCat("order ", order_id, " confirmed but line ", i, dec ? "" : " not decreased",
                         fail ? " failed" : "", rel ? " released" : ""));
      } else {
        report->Check(
            kOrderSettledOnce, dec == rel,
            absl::StrCat("order ", order_id, " cancelled but line ", i,
                         dec ? " decreased and never released" : " released without a decrease"));
      }
    }
    if (!confirmed) {
      report->Check(kOrderSettledOnce, failed_lines > 0,
                    absl::StrCat("order ", order_id,
                                 " cancelled although no line failed (no user cancels here)"));
    }
  }
  for (const auto& [order_id, outcomes] : terminal) {
    report->Check(kOrderSettledOnce, placed.contains(order_id),
                  absl::StrCat("order ", order_id, " settled (", outcomes.size(),
                               " outcome(s)) but OrderPlaced is nowhere in the cluster"));
  }
  for (const std::string& order_id : u.order_ids) expected->orders.try_emplace(order_id);
  for (const std::string& order_id : acked.order_ids) {
    auto t = terminal.find(order_id);
    report->Check(kAcknowledged, placed.contains(order_id) && t != terminal.end(),
                  absl::StrCat("acknowledged order ", order_id,
                               !placed.contains(order_id) ? " is nowhere in the cluster"
                                                          : " was never settled"));
  }

  // Every node's read models against the union.
  for (const NodeSnapshot& node : snapshot.nodes) {
    for (const auto& [sku, row] : expected->stock) {
      const v1::Stock* s = Find(node.stock, sku);
      report->Check(kReplay,
                    s != nullptr && s->available() == row.available() &&
                        s->reserved_total() == row.reserved(),
                    absl::StrCat(node.node, ": GetStock ", sku, " says ", StockView(s),
                                 "; the union says available=", row.available(), " (restocked ",
                                 row.restocked, " - decreased ", row.decreased, " + released ",
                                 row.released, ") reserved=", row.reserved()));
      report->Check(kStockNonNegative, s == nullptr || s->available() >= 0,
                    absl::StrCat(node.node, ": GetStock ", sku, " says ", StockView(s)));
    }
    for (const auto& [order_id, status] : expected->orders) {
      const v1::Order* o = Find(node.orders, order_id);
      report->Check(kReplay, o != nullptr && o->status() == status,
                    absl::StrCat(node.node, ": GetOrder ", order_id, " says ", OrderView(o),
                                 "; the union says ", v1::OrderStatus_Name(status)));
    }
  }
}

}  // namespace

void ClusterReport::Check(const std::string& invariant, bool ok, const std::string& detail) {
  ++checks_;
  if (ok) return;
  ++violation_count_;
  ++by_invariant_[invariant];
  if (violations_.size() < kKeptViolations) {
    violations_.push_back(absl::StrCat("[", invariant, "] ", detail));
  }
}

std::string ClusterReport::Summary() const {
  std::string out = absl::StrCat(checks_, " checks, ", violation_count_, " violations");
  for (const auto& [invariant, n] : by_invariant_) {
    absl::StrAppend(&out, "\n  ", n, " x ", invariant);
  }
  for (const std::string& v : violations_) absl::StrAppend(&out, "\n  - ", v);
  if (violation_count_ > static_cast<int64_t>(violations_.size())) {
    absl::StrAppend(&out, "\n  ... and ",
                    violation_count_ - static_cast<int64_t>(violations_.size()), " more");
  }
  return out;
}

Union UnionOf(const ClusterSnapshot& snapshot) { return BuildUnion(snapshot, nullptr); }

ClusterReport CheckCluster(const ClusterSnapshot& snapshot, const Acknowledged& acknowledged,
                           Expected* expected) {
  ClusterReport report;
  Expected local;
  if (expected == nullptr) expected = &local;
  *expected = Expected{};
  std::vector<Conflict> conflicts;
  const Union u = BuildUnion(snapshot, &conflicts);
  report.Check(kOneEventOnePayload, true, "");
  for (const Conflict& c : conflicts) {
    report.Check(kOneEventOnePayload, false,
                 absl::StrCat("event ", c.event_id, ": ", c.first_source, " has ", Brief(*c.first),
                              " but ", c.second_source, " has ", Brief(*c.second)));
  }
  if (!snapshot.kafka.empty()) {
    for (const NodeSnapshot& node : snapshot.nodes) {
      int64_t missing = 0;
      int64_t dropped = 0;
      std::string first;
      for (const v1::Event& e : node.log) {
        // The copy of this event (or the variant its payload went to).
        bool relayed = false;
        const std::string base = KeyOf(node.node, e);
        const std::string payload = PayloadBytes(e);
        for (int variant = 0;; ++variant) {
          const std::string key = variant == 0 ? base : absl::StrCat(base, "#conflict", variant);
          auto it = u.by_id.find(key);
          if (it == u.by_id.end()) break;
          if (PayloadBytes(it->second) != payload) continue;
          relayed = u.sources.at(key).contains(kKafkaSource);
          break;
        }
        if (relayed) continue;
        if (node.dropped_by_retention.contains(e.position())) {
          ++dropped;
          continue;
        }
        if (missing++ == 0) {
          first = absl::StrCat(e.event_id(), " at position ", e.position(), " ", Brief(e));
        }
      }
      report.Check(kRelayed, missing == 0,
                   absl::StrCat(node.node, ": ", missing, " of ", node.log.size(),
                                " events of its log are not in Kafka (", dropped,
                                " more dropped by retention), the first: ", first));
    }
  }
  CheckCoupons(snapshot, u, acknowledged, expected, &report);
  CheckOrdersAndStock(snapshot, u, acknowledged, expected, &report);

  // Read models identical on every node, for every key seen anywhere.
  for (const std::string& key : u.order_ids) {
    CheckAgree<v1::Order>(snapshot, "order", key, &NodeSnapshot::orders, &OrderView, &report);
  }
  for (const std::string& key : u.skus) {
    CheckAgree<v1::Stock>(snapshot, "stock", key, &NodeSnapshot::stock, &StockView, &report);
  }
  for (const std::string& key : u.codes) {
    CheckAgree<v1::Campaign>(snapshot, "campaign", key, &NodeSnapshot::campaigns, &CampaignView,
                             &report);
  }
  for (const std::string& key : u.coupon_request_ids) {
    CheckAgree<v1::CouponRequest>(snapshot, "coupon request", key, &NodeSnapshot::coupon_requests,
                                  &CouponRequestView, &report);
  }
  return report;
}

}  // namespace surge::cluster_test
