// Static checks of ops/: the Grafana dashboard is an importable dashboard
// with a Prometheus datasource variable, its queries use only defined
// variables and recorded rules, [cluster-only] panels read only cluster
// metrics; every alert has a firing and a silent promtool case and a README
// runbook line. (promtool itself runs as OpsRules.PromtoolCheckRules and
// OpsRules.PromtoolTestRules; the live test is OpsLiveTest.)
#include "tests/ops/ops_files.h"

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace surge::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Str(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "" : it->second.string_value();
}

const Struct* Obj(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || it->second.kind_case() != Value::kStructValue) return nullptr;
  return &it->second.struct_value();
}

bool Has(const Struct& s, const std::string& key) { return s.fields().contains(key); }

// Names after "- <kind>:" in the rule file (alert or record).
std::vector<std::string> RuleNames(const std::string& text, const std::string& kind) {
  std::vector<std::string> names;
  const std::regex re(absl::StrCat(R"re((^|\n)\s*- )re", kind, R"re(:\s*(\S+))re"));
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    names.push_back((*it)[2].str());
  }
  return names;
}

class OpsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dashboard = LoadDashboard(OpsPath("grafana/surge.json"));
    ASSERT_TRUE(dashboard.ok()) << dashboard.status();
    dashboard_ = *std::move(dashboard);
    auto rules = ReadTextFile(OpsPath("prometheus/alerts.yml"));
    ASSERT_TRUE(rules.ok()) << rules.status();
    rules_ = *std::move(rules);
    auto tests = ReadTextFile(OpsPath("prometheus/alerts_test.yml"));
    ASSERT_TRUE(tests.ok()) << tests.status();
    rule_tests_ = *std::move(tests);
  }

  Dashboard dashboard_;
  std::string rules_;
  std::string rule_tests_;
};

TEST_F(OpsFilesTest, DashboardHasTheFieldsGrafanaImports) {
  const Struct& d = dashboard_.json;
  EXPECT_FALSE(Str(d, "title").empty());
  EXPECT_FALSE(Str(d, "uid").empty());
  EXPECT_TRUE(Has(d, "schemaVersion"));
  // An import creates a new dashboard: no fixed numeric id.
  ASSERT_TRUE(Has(d, "id"));
  EXPECT_EQ(d.fields().at("id").kind_case(), Value::kNullValue);
  EXPECT_GE(dashboard_.panels.size(), 20u);
}

TEST_F(OpsFilesTest, DashboardHasAPrometheusDatasourceVariableThatEveryPanelUses) {
  std::string datasource_var;
  for (const DashboardVariable& v : dashboard_.variables) {
    if (v.type == "datasource" && v.query == "prometheus") datasource_var = v.name;
  }
  ASSERT_FALSE(datasource_var.empty()) << "no templating variable of type datasource (prometheus)";
  const std::string ref = absl::StrCat("${", datasource_var, "}");
  std::set<int> ids;
  for (const Struct* panel : dashboard_.panels) {
    const std::string title = Str(*panel, "title");
    ASSERT_TRUE(Has(*panel, "id")) << title;
    EXPECT_TRUE(ids.insert(static_cast<int>(panel->fields().at("id").number_value())).second)
        << "duplicate panel id at " << title;
    const Struct* grid = Obj(*panel, "gridPos");
    ASSERT_NE(grid, nullptr) << title;
    for (const char* k : {"h", "w", "x", "y"}) EXPECT_TRUE(Has(*grid, k)) << title << " " << k;
    if (Str(*panel, "type") == "row") continue;
    EXPECT_FALSE(title.empty());
    EXPECT_FALSE(Str(*panel, "description").empty()) << title;
    const Struct* ds = Obj(*panel, "datasource");
    ASSERT_NE(ds, nullptr) << title;
    EXPECT_EQ(Str(*ds, "type"), "prometheus") << title;
    EXPECT_EQ(Str(*ds, "uid"), ref) << title;
  }
  std::set<std::string> refs;
  for (const PanelTarget& t : dashboard_.targets) {
    EXPECT_FALSE(t.expr.empty()) << t.panel_title;
    EXPECT_TRUE(refs.insert(absl::StrCat(t.panel_id, "/", t.ref_id)).second)
        << "duplicate refId " << t.ref_id << " in " << t.panel_title;
  }
}

TEST_F(OpsFilesTest, EveryQueryUsesDefinedVariablesAndRecordedRules) {
  const std::vector<std::string> recorded = RuleNames(rules_, "record");
  ASSERT_FALSE(recorded.empty());
  std::set<std::string> used_recordings;
  for (const PanelTarget& t : dashboard_.targets) {
    auto expanded = ExpandVariables(t.expr, dashboard_);
    EXPECT_TRUE(expanded.ok()) << t.panel_title << ": " << expanded.status();
    for (const std::string& metric : MetricNames(t.expr)) {
      if (absl::StrContains(metric, ":")) {
        EXPECT_THAT(recorded, ::testing::Contains(metric))
            << t.panel_title << " reads " << metric << ", which alerts.yml does not record";
        used_recordings.insert(metric);
      }
      // A [cluster-only] panel must read only cluster metrics, and no other
      // panel may: the live test excuses exactly those from returning data.
      EXPECT_EQ(IsClusterMetric(metric), t.cluster_only)
          << t.panel_title << (t.cluster_only ? " ([cluster-only]) reads " : " reads ") << metric;
    }
  }
  EXPECT_GE(used_recordings.size(), 8u) << "the dashboard should read the recording rules";
}

TEST_F(OpsFilesTest, EveryAlertHasAFiringAndASilentPromtoolCaseAndAReadmeRunbook) {
  const std::vector<std::string> alerts = RuleNames(rules_, "alert");
  ASSERT_GE(alerts.size(), 10u);
  auto readme = ReadTextFile(SourcePath("README.md"));
  ASSERT_TRUE(readme.ok()) << readme.status();
  for (const std::string& alert : alerts) {
    const std::regex fires(absl::StrCat(R"re(alertname: )re", alert,
                                        R"re(\s*\n\s*exp_alerts:\s*\n\s*- exp_labels)re"));
    const std::regex silent(
        absl::StrCat(R"re(alertname: )re", alert, R"re(\s*\n\s*exp_alerts: \[\])re"));
    EXPECT_TRUE(std::regex_search(rule_tests_, fires))
        << alert << " never fires in alerts_test.yml";
    EXPECT_TRUE(std::regex_search(rule_tests_, silent))
        << alert << " is never shown silent in alerts_test.yml";
    EXPECT_TRUE(absl::StrContains(*readme, absl::StrCat("| `", alert, "` |")))
        << alert << " has no row in README.md's alert table";
  }
}

TEST(MetricNamesTest, FindsSelectorsAndSkipsFunctionsKeywordsMatchersAndDurations) {
  EXPECT_THAT(MetricNames(R"(up{job="surge"} == 0)"), ElementsAre("up"));
  EXPECT_THAT(
      MetricNames(
          R"(histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{x=~"y|z"}[$__rate_interval]))))"),
      ElementsAre("a_bucket"));
  EXPECT_THAT(MetricNames("x > 1000 and deriv(x[5m]) > 0"), ElementsAre("x"));
  EXPECT_THAT(MetricNames("a - on (job) group_right b offset 5m"), ElementsAre("a", "b"));
  EXPECT_THAT(MetricNames("level:metric:rate1m > 0 unless c"),
              ElementsAre("c", "level:metric:rate1m"));
  EXPECT_THAT(MetricNames(R"(count({__name__="hidden"}))"), IsEmpty());
  EXPECT_THAT(MetricNames("-(a) > 1e3"), ElementsAre("a"));
}

TEST(ExpandVariablesTest, ReplacesAllVariableSpellingsAndRejectsUnknownOnes) {
  Dashboard d;
  d.variables.push_back({.name = "job", .type = "query", .query = "", .all_value = ".+"});
  EXPECT_EQ(
      *ExpandVariables(R"(a{job=~"$job"}[$__rate_interval] + b{j=~"${job}",k=~"[[job]]"})", d),
      R"(a{job=~".+"}[1m] + b{j=~".+",k=~".+"})");
  EXPECT_FALSE(ExpandVariables("a{x=~\"$nope\"}", d).ok());
  EXPECT_EQ(VariableQueryAsPromql(R"(label_values(m{job=~"$job"}, instance))"),
            R"(count by (instance) (m{job=~"$job"}))");
}

}  // namespace
}  // namespace surge::testing
