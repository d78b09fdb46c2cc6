#include "tests/ops/rules_prometheus.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
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

}  // namespace surge::testing
