#include "tests/ops/rules_prometheus.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/metrics/http_get.h"
#include "tests/ops/ops_files.h"

namespace surge::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

const Value* Field(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? nullptr : &it->second;
}

// A sample's value is ["<unix time>", "<value>"]; Prometheus writes NaN as "NaN".
std::string Str(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "" : it->second.string_value();
}

const Struct* Obj(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || it->second.kind_case() != Value::kStructValue) return nullptr;
  return &it->second.struct_value();
}

const google::protobuf::ListValue* List(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || it->second.kind_case() != Value::kListValue) return nullptr;
  return &it->second.list_value();
}

bool IsNumber(const Value& pair) {
  if (pair.kind_case() != Value::kListValue || pair.list_value().values_size() != 2) return false;
  const Value& v = pair.list_value().values(1);
  return v.kind_case() == Value::kStringValue && v.string_value() != "NaN";
}

}  // namespace

absl::StatusOr<std::unique_ptr<RulesPrometheus>> RulesPrometheus::Start(const Options& options) {
  absl::StatusOr<std::unique_ptr<PrometheusProcess>> process = PrometheusProcess::Start(options);
  if (!process.ok()) return process.status();
  return std::unique_ptr<RulesPrometheus>(new RulesPrometheus(std::move(*process)));
}

absl::StatusOr<QueryResult> RulesPrometheus::Query(absl::string_view promql) {
  absl::StatusOr<HttpResponse> response =
      HttpGet(port(), absl::StrCat("/api/v1/query?query=", UrlEncode(promql)));
  if (!response.ok()) return response.status();
  if (response->status == 400 || response->status == 422) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP ", response->status, ": ", response->body));
  }
  if (response->status != 200) {
    return absl::InternalError(absl::StrCat("HTTP ", response->status, ": ", response->body));
  }
  absl::StatusOr<Struct> json = ParseJsonObject(response->body);
  if (!json.ok()) return json.status();
  const Value* data = Field(*json, "data");
  if (data == nullptr || data->kind_case() != Value::kStructValue) {
    return absl::InternalError(absl::StrCat("no data in ", response->body));
  }
  QueryResult result;
  result.body = response->body;
  if (const Value* type = Field(data->struct_value(), "resultType")) {
    result.result_type = type->string_value();
  }
  const Value* r = Field(data->struct_value(), "result");
  if (r == nullptr) return absl::InternalError(absl::StrCat("no result in ", response->body));
  if (result.result_type == "vector" && r->kind_case() == Value::kListValue) {
    for (const Value& sample : r->list_value().values()) {
      ++result.samples;
      const Value* value = sample.kind_case() == Value::kStructValue
                               ? Field(sample.struct_value(), "value")
                               : nullptr;
      if (value != nullptr && IsNumber(*value)) ++result.non_nan_samples;
    }
  } else if (result.result_type == "scalar") {
    result.samples = 1;
    if (IsNumber(*r)) result.non_nan_samples = 1;
  }
  return result;
}

absl::StatusOr<Struct> RulesPrometheus::Rules() {
  absl::StatusOr<HttpResponse> response = HttpGet(port(), "/api/v1/rules");
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::InternalError(
        absl::StrCat("rules: HTTP ", response->status, ": ", response->body));
  }
  absl::StatusOr<Struct> json = ParseJsonObject(response->body);
  if (!json.ok()) return json.status();
  const Value* data = Field(*json, "data");
  if (data == nullptr || data->kind_case() != Value::kStructValue) {
    return absl::InternalError(absl::StrCat("no data in ", response->body));
  }
  return data->struct_value();
}

absl::StatusOr<bool> EventuallyHasData(RulesPrometheus& prom, const std::string& promql,
                                       absl::Duration timeout, int min) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<QueryResult> r = prom.Query(promql);
    if (!r.ok() && absl::IsInvalidArgument(r.status())) return r.status();
    if (r.ok() && r->non_nan_samples >= min) return true;
    if (absl::Now() > deadline) return false;
    // Prometheus scrapes and evaluates on its own 1 s schedule.
    absl::SleepFor(absl::Milliseconds(200));
  }
}

absl::StatusOr<std::vector<LoadedRule>> LoadedRules(RulesPrometheus& prom) {
  absl::StatusOr<Struct> data = prom.Rules();
  if (!data.ok()) return data.status();
  std::vector<LoadedRule> rules;
  const google::protobuf::ListValue* groups = List(*data, "groups");
  if (groups == nullptr) return absl::InternalError("no groups in /api/v1/rules");
  for (const Value& g : groups->values()) {
    const google::protobuf::ListValue* list = List(g.struct_value(), "rules");
    if (list == nullptr) continue;
    for (const Value& r : list->values()) {
      const Struct& s = r.struct_value();
      LoadedRule rule;
      rule.group = Str(g.struct_value(), "name");
      rule.type = Str(s, "type");
      rule.name = Str(s, "name");
      rule.query = Str(s, "query");
      rule.health = Str(s, "health");
      rule.last_error = Str(s, "lastError");
      if (const Struct* labels = Obj(s, "labels")) {
        rule.cluster_only = Str(*labels, "scope") == "cluster";
      }
      if (const Struct* annotations = Obj(s, "annotations")) {
        for (const auto& [k, v] : annotations->fields()) rule.annotations[k] = v.string_value();
      }
      rules.push_back(std::move(rule));
    }
  }
  return rules;
}

absl::StatusOr<std::vector<LoadedRule>> EvaluatedRules(RulesPrometheus& prom,
                                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<std::vector<LoadedRule>> rules = LoadedRules(prom);
    if (!rules.ok()) return rules.status();
    const bool all_evaluated = std::all_of(rules->begin(), rules->end(), [](const LoadedRule& r) {
      return r.health != "unknown" && !r.health.empty();
    });
    if (all_evaluated || absl::Now() > deadline) return rules;
    absl::SleepFor(absl::Milliseconds(200));  // rules are evaluated every second
  }
}

}  // namespace surge::testing
