#include "tests/ops/ops_files.h"

#include <google/protobuf/util/json_util.h>

#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace surge::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string StringField(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end()) return "";
  if (it->second.kind_case() == Value::kStringValue) return it->second.string_value();
  if (it->second.kind_case() == Value::kNumberValue) {
    return absl::StrCat(it->second.number_value());
  }
  return "";
}

const Value* Field(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? nullptr : &it->second;
}

void CollectPanels(const Value& list, std::vector<const Struct*>* out) {
  if (list.kind_case() != Value::kListValue) return;
  for (const Value& v : list.list_value().values()) {
    if (v.kind_case() != Value::kStructValue) continue;
    out->push_back(&v.struct_value());
    if (const Value* nested = Field(v.struct_value(), "panels")) CollectPanels(*nested, out);
  }
}

// Grafana's own variables, as an instant query in a test would need them.
const std::vector<std::pair<std::string, std::string>>& BuiltinVariables() {
  static const auto* builtins = new std::vector<std::pair<std::string, std::string>>{
      {"__rate_interval", "1m"}, {"__interval", "15s"}, {"__range", "1h"}};
  return *builtins;
}

}  // namespace

std::string OpsPath(absl::string_view relative) {
  return absl::StrCat(SURGE_SOURCE_DIR, "/ops/", relative);
}

std::string SourcePath(absl::string_view relative) {
  return absl::StrCat(SURGE_SOURCE_DIR, "/", relative);
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::StatusOr<Struct> ParseJsonObject(absl::string_view json) {
  Struct result;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &result);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a JSON object: ", status.ToString()));
  }
  return result;
}

absl::StatusOr<Dashboard> LoadDashboard(const std::string& path) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<Struct> json = ParseJsonObject(*text);
  if (!json.ok())
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", json.status().message()));
  Dashboard dashboard;
  dashboard.json = *std::move(json);
  if (const Value* panels = Field(dashboard.json, "panels")) {
    CollectPanels(*panels, &dashboard.panels);
  }
  for (const Struct* panel : dashboard.panels) {
    const Value* targets = Field(*panel, "targets");
    if (targets == nullptr || targets->kind_case() != Value::kListValue) continue;
    for (const Value& t : targets->list_value().values()) {
      if (t.kind_case() != Value::kStructValue) continue;
      PanelTarget target;
      const Value* id = Field(*panel, "id");
      target.panel_id = id != nullptr ? static_cast<int>(id->number_value()) : 0;
      target.panel_title = StringField(*panel, "title");
      target.ref_id = StringField(t.struct_value(), "refId");
      target.expr = StringField(t.struct_value(), "expr");
      target.cluster_only =
          absl::StartsWith(StringField(*panel, "description"), kClusterOnlyMarker);
      dashboard.targets.push_back(std::move(target));
    }
  }
  const Value* templating = Field(dashboard.json, "templating");
  const Value* list = templating != nullptr && templating->kind_case() == Value::kStructValue
                          ? Field(templating->struct_value(), "list")
                          : nullptr;
  if (list != nullptr && list->kind_case() == Value::kListValue) {
    for (const Value& v : list->list_value().values()) {
      if (v.kind_case() != Value::kStructValue) continue;
      const Struct& s = v.struct_value();
      DashboardVariable variable;
      variable.name = StringField(s, "name");
      variable.type = StringField(s, "type");
      variable.all_value = StringField(s, "allValue");
      const Value* query = Field(s, "query");
      if (query != nullptr && query->kind_case() == Value::kStructValue) {
        variable.query = StringField(query->struct_value(), "query");
      } else {
        variable.query = StringField(s, "query");
      }
      dashboard.variables.push_back(std::move(variable));
    }
  }
  return dashboard;
}

absl::StatusOr<std::string> ExpandVariables(absl::string_view expr, const Dashboard& dashboard) {
  std::vector<std::pair<std::string, std::string>> values = BuiltinVariables();
  for (const DashboardVariable& v : dashboard.variables) {
    values.emplace_back(v.name, v.all_value.empty() ? ".*" : v.all_value);
  }
  std::string out;
  size_t i = 0;
  while (i < expr.size()) {
    size_t name_begin = 0, name_end = 0, after = 0;
    if (expr[i] == '$' && i + 1 < expr.size() && expr[i + 1] == '{') {
      const size_t close = expr.find('}', i);
      if (close == absl::string_view::npos) return absl::InvalidArgumentError("unclosed ${");
      name_begin = i + 2;
      name_end = close;
      after = close + 1;
    } else if (expr[i] == '$') {
      name_begin = name_end = i + 1;
      while (name_end < expr.size() &&
             (std::isalnum(static_cast<unsigned char>(expr[name_end])) || expr[name_end] == '_')) {
        ++name_end;
      }
      after = name_end;
    } else if (expr.substr(i, 2) == "[[") {
      const size_t close = expr.find("]]", i);
      if (close == absl::string_view::npos) return absl::InvalidArgumentError("unclosed [[");
      name_begin = i + 2;
      name_end = close;
      after = close + 2;
    } else {
      out.push_back(expr[i++]);
      continue;
    }
    // ${var:format} → var
    std::string name(expr.substr(name_begin, name_end - name_begin));
    name = name.substr(0, name.find(':'));
    bool found = false;
    for (const auto& [n, value] : values) {
      if (n == name) {
        absl::StrAppend(&out, value);
        found = true;
        break;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(
          absl::StrCat("variable $", name, " is not defined by the dashboard in: ", expr));
    }
    i = after;
  }
  return out;
}

std::string VariableQueryAsPromql(absl::string_view query) {
  static const std::regex kLabelValues(
      R"re(^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$)re");
  std::smatch m;
  const std::string q(query);
  if (std::regex_match(q, m, kLabelValues)) {
    return absl::StrCat("count by (", m[2].str(), ") (", m[1].str(), ")");
  }
  return q;
}

std::vector<std::string> MetricNames(absl::string_view promql) {
  // 1. Blank out string literals, label matchers {...} and ranges [...].
  std::string s;
  s.reserve(promql.size());
  for (size_t i = 0; i < promql.size(); ++i) {
    const char c = promql[i];
    if (c == '"' || c == '\'' || c == '`') {
      for (++i; i < promql.size() && promql[i] != c; ++i) {
        if (promql[i] == '\\' && c != '`') ++i;
      }
      s.push_back(' ');
    } else if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      int depth = 1;
      for (++i; i < promql.size() && depth > 0; ++i) {
        if (promql[i] == '"') {
          for (++i; i < promql.size() && promql[i] != '"'; ++i) {
            if (promql[i] == '\\') ++i;
          }
        } else if (promql[i] == c) {
          ++depth;
        } else if (promql[i] == close) {
          --depth;
        }
      }
      --i;
      s.push_back(' ');
    } else {
      s.push_back(c);
    }
  }
  // 2. Blank out the label lists of grouping and matching clauses.
  static const std::regex kGrouping(
      R"re(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))re");
  s = std::regex_replace(s, kGrouping, " ");
  // 3. Identifiers that are neither function calls, keywords nor numbers.
  static const absl::flat_hash_set<std::string> kKeywords = {
      "and",  "or",      "unless",     "by",           "without", "on",     "ignoring",
      "bool", "offset",  "group_left", "group_right",  "inf",     "nan",    "atan2",
      "sum",  "min",     "max",        "avg",          "count",   "stddev", "stdvar",
      "topk", "bottomk", "quantile",   "count_values", "group"};
  std::set<std::string> names;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isdigit(c) || c == '.') {
      // a number or a duration: skip the whole token (5m, 1e3, 0.99)
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      continue;
    }
    if (!(std::isalpha(c) || c == '_' || c == ':')) {
      ++i;
      continue;
    }
    const size_t begin = i;
    while (i < s.size() &&
           (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == ':')) {
      ++i;
    }
    const std::string token = s.substr(begin, i - begin);
    size_t next = i;
    while (next < s.size() && std::isspace(static_cast<unsigned char>(s[next]))) ++next;
    const bool call = next < s.size() && s[next] == '(';
    std::string lower = token;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (call || kKeywords.contains(lower)) continue;
    names.insert(token);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

bool IsClusterMetric(absl::string_view name) {
  return absl::StartsWith(name, "surge_cluster_") || absl::StrContains(name, ":surge_cluster_");
}

int RulesInFile(absl::string_view text) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(line, "- alert:") || absl::StartsWith(line, "- record:")) ++n;
  }
  return n;
}

bool IsJemallocOnly(absl::string_view expr) {
  return absl::StrContains(expr, "surge_allocator_allocated_bytes") ||
         absl::StrContains(expr, "surge_allocator_resident_bytes");
}

}  // namespace surge::testing
