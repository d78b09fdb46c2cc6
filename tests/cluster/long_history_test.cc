// A coupon sale whose history runs far past the dev broker's retention
// (issue 20): surge-kafka-dev keeps about 5 MiB per partition and silently
// drops the oldest records, so after tens of MiB of decisions in one
// partition neither its changelog nor its input topic starts at offset 0.
// Before snapshots, any rebalance then left the partition blocked ("cannot
// be restored"). Here the same partition goes through a join, the SIGKILL
// of its owner and the loss of its (next) owner's disk, and must be decided
// on after each, from a snapshot or a warm standby, with the sale's
// invariants intact: the same campaign on every node, exactly the coupons
// the answers account for, nobody holding two.
//
// The flood is made of LIMIT_REACHED requests: long request ids from users
// who already hold a coupon. Rejected requests are view-only rows, so they
// weigh on the changelog (about 0.45 KB each) but not on the decider state,
// and the campaign keeps coupons to hand out after each fault (a restored
// state that lost `remaining` or a holding would then issue one too many).
//
// Rebalances on the mock broker take seconds (session timeout 6 s), so every
// wait is a condition polled under a bound, never a sleep.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "domain/validation.h"
#include "gtest/gtest.h"
#include "kafka/topics.h"
#include "tests/cluster/cluster.h"
#include "tests/cluster/kafka_reader.h"
#include "tests/cluster/rpc.h"

namespace surge::cluster_test {
namespace {

constexpr int kPartitions = 6;
constexpr char kCode[] = "LONGSALE";
constexpr int64_t kQuantity = 500;
// Users who get a coupon before the flood; the flood repeats their requests.
constexpr int kFirstHolders = 200;
// What the flood must write to the campaign's changelog partition: ten times
// the broker's retention.
constexpr int64_t kFloodChangelogBytes = int64_t{50} << 20;
// The flood's clients. Each sends kWindow requests one after the other, then
// waits until the last one is decided before the next window: one node, one
// partition and --ack=kafka (a request is answered once it is in Kafka) mean
// that every request a thread had answered before is then decided too. So at
// most kFloodThreads * kWindow requests (about 1.5 MiB of the input
// partition, which has the same 5 MiB retention) wait for the decider.
constexpr int kFloodThreads = 32;
constexpr int kWindow = 40;
constexpr absl::Duration kFloodTimeout = absl::Seconds(180);
constexpr absl::Duration kOwnershipTimeout = absl::Seconds(90);
constexpr absl::Duration kSettleTimeout = absl::Seconds(60);
constexpr int64_t kSettleWaitMs = 30000;

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const absl::Status _s = (expr);                         \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

// An id of exactly domain::kMaxIdBytes bytes (the longest the server takes
// for request and user ids), starting with "<prefix>-<i>-" and padded with
// characters of [a-z0-9] that vary with i (no run a compressor could fold;
// the topics are not compressed today, but the bytes should be real).
std::string LongId(absl::string_view prefix, int64_t i) {
  std::string id = absl::StrCat(prefix, "-", i, "-");
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t x = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  while (id.size() < domain::kMaxIdBytes) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 32;
    id.push_back(kAlphabet[x % 36]);
  }
  return id;
}

// Counts the bytes written to one Kafka partition, read as they arrive by a
// consumer of its own (assigned, no group) from the start: the dev broker
// drops the oldest records, so a partition's size cannot be asked for
// afterwards. `fell_behind` says retention dropped records the meter had not
// read yet (its count is then a lower bound). Also answers watermark
// queries. Start/destruction from one thread; the getters from any.
class PartitionMeter {
 public:
  PartitionMeter(std::string bootstrap, std::string topic, int32_t partition)
      : bootstrap_(std::move(bootstrap)), topic_(std::move(topic)), partition_(partition) {}
  ~PartitionMeter() {
    stop_.Notify();
    if (thread_.joinable()) thread_.join();
    if (rk_ != nullptr) {
      rd_kafka_assign(rk_, nullptr);
      rd_kafka_destroy(rk_);
    }
  }
  PartitionMeter(const PartitionMeter&) = delete;
  PartitionMeter& operator=(const PartitionMeter&) = delete;

  absl::Status Start() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    const std::vector<std::pair<const char*, std::string>> settings = {
        {"bootstrap.servers", bootstrap_}, {"group.id", "surge-long-history-meter"},
        {"enable.auto.commit", "false"},   {"fetch.wait.max.ms", "10"},
        {"auto.offset.reset", "earliest"},
    };
    for (const auto& [k, v] : settings) {
      if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return absl::InvalidArgumentError(absl::StrCat(k, ": ", err));
      }
    }
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      return absl::InternalError(absl::StrCat("rd_kafka_new: ", err));
    }
    rd_kafka_poll_set_consumer(rk_);
    if (absl::StatusOr<int> n = TopicPartitionCount(rk_, topic_, absl::Seconds(10)); !n.ok()) {
      return n.status();
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), partition_)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    const rd_kafka_resp_err_t e = rd_kafka_assign(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(absl::StrCat("assign: ", rd_kafka_err2str(e)));
    }
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  int64_t bytes() const { return bytes_.load(); }
  int64_t records() const { return records_.load(); }
  bool fell_behind() const { return fell_behind_.load(); }

  // (low, high) watermarks of `topic`/partition, asked of the broker.
  absl::StatusOr<std::pair<int64_t, int64_t>> Watermarks(const std::string& topic,
                                                         int32_t partition) const {
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(rk_, topic.c_str(), partition, &low, &high, 10000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          absl::StrCat("watermarks of ", topic, "/", partition, ": ", rd_kafka_err2str(e)));
    }
    return std::make_pair(low, high);
  }

 private:
  void Run() {
    int64_t next = 0;
    while (!stop_.HasBeenNotified()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->offset > next) fell_behind_ = true;  // skipped ahead: dropped before read
        if (m->offset >= next) {
          next = m->offset + 1;
          bytes_ += static_cast<int64_t>(m->len);
          ++records_;
        }
      } else if (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
                 m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        fell_behind_ = true;
      }
      rd_kafka_message_destroy(m);
    }
  }

  const std::string bootstrap_;
  const std::string topic_;
  const int32_t partition_;
  rd_kafka_t* rk_ = nullptr;
  absl::Notification stop_;
  std::thread thread_;
  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> records_{0};
  std::atomic<bool> fell_behind_{false};
};

// One coupon request the test sent and what it expects of it.
struct Sent {
  std::string request_id;
  std::string user_id;
  bool holder = false;  // the user held a coupon already: LIMIT_REACHED
  int step = 0;         // 0 the first sales, 1 (a), 2-3 (b), 4 (c)
};

class ClusterLongHistoryTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (cluster_ == nullptr) return;
    if (HasFailure()) {
      std::fprintf(
          stderr, "%s\n%s\n",
          cluster_
              ->GrepLogs({"restor", "snapshot", "resumes", "gained", "lost ", "blocked", "error"},
                         30)
              .c_str(),
          cluster_->LogTails(40).c_str());
    }
    cluster_.reset();
  }

  std::vector<int> Up() const { return cluster_->up_nodes(); }

  // Lines of node i's log (appended across restarts) that contain `needle`.
  std::vector<std::string> LogLines(int i, absl::string_view needle) {
    std::ifstream in(cluster_->node(i).log_path());
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
      if (absl::StrContains(line, needle)) out.push_back(line);
    }
    return out;
  }

  absl::StatusOr<v1::CouponRequest> SettledCoupon(int node, const std::string& request_id,
                                                  absl::Duration timeout = kSettleTimeout) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::StatusOr<v1::CouponRequest> r = absl::UnknownError("not asked");
    do {
      const int64_t wait = std::min<int64_t>(
          kSettleWaitMs, std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now())));
      r = rpc::GetCouponRequest(cluster_->Channel(node), request_id, wait);
      if (r.ok() && r->status() != v1::COUPON_REQUEST_STATUS_PENDING) return r;
    } while (absl::Now() < deadline);
    if (!r.ok()) return r.status();
    return absl::DeadlineExceededError(absl::StrCat("coupon request ", request_id,
                                                    " still PENDING on ", cluster_->node_id(node),
                                                    " after ", absl::FormatDuration(timeout)));
  }

  // Waits until GetCampaign(kCode) succeeds on every listed node (a node
  // accepts RequestCoupon only for a campaign its read model holds).
  absl::Status WaitCampaignVisible(const std::vector<int>& nodes,
                                   absl::Duration timeout = absl::Seconds(90)) {
    return rpc::WaitFor(
        absl::StrCat("campaign ", kCode, " visible on every node"), timeout,
        [&](std::string* detail) {
          for (int i : nodes) {
            absl::StatusOr<v1::Campaign> c = rpc::GetCampaign(cluster_->Channel(i), kCode);
            if (!c.ok()) {
              *detail = absl::StrCat(cluster_->node_id(i), ": ", c.status().ToString());
              return false;
            }
          }
          return true;
        });
  }

  // Sends each request to targets[k % size] first, the same request id to
  // the next target when a node refuses or does not answer (a client that
  // retries elsewhere), one request after the other. Every request must be
  // acknowledged within `timeout` in all.
  void SendAll(const std::vector<Sent>& requests, const std::vector<int>& targets,
               absl::Duration timeout = absl::Seconds(60)) {
    ASSERT_FALSE(targets.empty());
    const absl::Time deadline = absl::Now() + timeout;
    for (size_t k = 0; k < requests.size(); ++k) {
      const Sent& s = requests[k];
      absl::Status last;
      bool acked = false;
      for (size_t attempt = 0; !acked && absl::Now() < deadline; ++attempt) {
        const int node = targets[(k + attempt) % targets.size()];
        absl::StatusOr<v1::RequestCouponResponse> r = rpc::RequestCoupon(
            cluster_->Channel(node), s.request_id, s.user_id, kCode, absl::Seconds(10));
        acked = r.ok();
        if (!r.ok()) {
          last = absl::Status(r.status().code(),
                              absl::StrCat(cluster_->node_id(node), ": ", r.status().message()));
          // A client's pause before it retries, not a wait for an event.
          absl::SleepFor(absl::Milliseconds(100));
        }
      }
      ASSERT_TRUE(acked) << "RequestCoupon " << s.request_id << " not acknowledged within "
                         << absl::FormatDuration(timeout) << "; last: " << last;
    }
  }

  // A step's requests: `holders` repeats from users who hold a coupon, and
  // `fresh` requests from users never seen, interleaved.
  std::vector<Sent> MakeStepRequests(int step, int holders, int fresh) {
    std::vector<Sent> out;
    int h = 0, f = 0;
    while (h < holders || f < fresh) {
      if (f < fresh) {
        out.push_back({LongId(absl::StrCat("lh-s", step, "-new-req"), f),
                       LongId(absl::StrCat("lh-s", step, "-new-user"), f), false, step});
        ++f;
      }
      if (h < holders && (f % 3 == 0 || f >= fresh)) {
        const std::string& user = holder_users_[(step * 37 + h * 11) % holder_users_.size()];
        out.push_back({LongId(absl::StrCat("lh-s", step, "-again-req"), h), user, true, step});
        ++h;
      }
    }
    return out;
  }

  // After a step: every request of the step is decided on every up node,
  // the same way; holders were refused LIMIT_REACHED; of the new users,
  // min(new, remaining before the step) got a coupon and the rest SOLD_OUT.
  // Records the issued ones. Then CheckSale().
  void SettleStep(const std::string& name, const std::vector<Sent>& requests) {
    const std::vector<int> up = Up();
    const int64_t remaining_before = kQuantity - static_cast<int64_t>(issued_.size());
    int64_t fresh = 0, issued = 0, sold_out = 0;
    for (const Sent& s : requests) {
      fresh += !s.holder;
      absl::StatusOr<v1::CouponRequest> first = SettledCoupon(up[0], s.request_id);
      ASSERT_TRUE(first.ok()) << name << ": " << s.request_id << " on " << cluster_->node_id(up[0])
                              << ": " << first.status();
      for (size_t k = 1; k < up.size(); ++k) {
        absl::StatusOr<v1::CouponRequest> other = SettledCoupon(up[k], s.request_id);
        ASSERT_TRUE(other.ok()) << name << ": " << s.request_id << " on "
                                << cluster_->node_id(up[k]) << ": " << other.status();
        EXPECT_EQ(other->status(), first->status()) << name << ": " << s.request_id;
        EXPECT_EQ(other->reason(), first->reason()) << name << ": " << s.request_id;
        EXPECT_EQ(other->coupon_id(), first->coupon_id()) << name << ": " << s.request_id;
      }
      decided_[s.request_id] = *first;
      if (s.holder) {
        EXPECT_EQ(first->status(), v1::COUPON_REQUEST_STATUS_REJECTED)
            << name << ": " << s.user_id << " holds a coupon, yet " << first->ShortDebugString();
        EXPECT_EQ(first->reason(), v1::COUPON_REJECT_REASON_LIMIT_REACHED)
            << name << ": " << first->ShortDebugString();
        continue;
      }
      if (first->status() == v1::COUPON_REQUEST_STATUS_ISSUED) {
        ++issued;
        issued_[s.request_id] = {s.user_id, first->coupon_id()};
        holder_users_.push_back(s.user_id);
      } else {
        EXPECT_EQ(first->status(), v1::COUPON_REQUEST_STATUS_REJECTED)
            << name << ": " << first->ShortDebugString();
        EXPECT_EQ(first->reason(), v1::COUPON_REJECT_REASON_SOLD_OUT)
            << name << ": a new user refused for another reason than SOLD_OUT: "
            << first->ShortDebugString();
        ++sold_out;
      }
    }
    EXPECT_EQ(issued, std::min(fresh, remaining_before))
        << name << ": " << fresh << " new users with " << remaining_before << " coupons left got "
        << issued << " coupons";
    std::fprintf(stderr,
                 "%s: %zu requests decided on %zu node(s): %lld issued, %lld sold out, "
                 "%zu limit reached\n",
                 name.c_str(), requests.size(), up.size(), static_cast<long long>(issued),
                 static_cast<long long>(sold_out),
                 requests.size() - static_cast<size_t>(issued + sold_out));
    step_requests_.insert(step_requests_.end(), requests.begin(), requests.end());
    CheckSale(name);
  }

  // Every request of `requests` (settled before) reads on every up node as
  // it was decided.
  void ExpectDecidedEverywhere(const std::string& name, const std::vector<Sent>& requests) {
    for (const Sent& s : requests) {
      auto it = decided_.find(s.request_id);
      ASSERT_NE(it, decided_.end()) << s.request_id << " was never settled";
      for (int i : Up()) {
        absl::StatusOr<v1::CouponRequest> r = SettledCoupon(i, s.request_id);
        ASSERT_TRUE(r.ok()) << name << ": " << s.request_id << " on " << cluster_->node_id(i)
                            << ": " << r.status();
        EXPECT_EQ(r->status(), it->second.status()) << name << ": " << cluster_->node_id(i);
        EXPECT_EQ(r->reason(), it->second.reason()) << name << ": " << cluster_->node_id(i);
        EXPECT_EQ(r->coupon_id(), it->second.coupon_id()) << name << ": " << cluster_->node_id(i);
      }
    }
  }

  // `ids` read on `node` exactly as on `reference` (the same row, or the
  // same error code): a node whose view resumed from a snapshot lacks the
  // refusals decided before it (view-only rows) and asks its peers
  // (server/internal/peer_reads.h). Returns how many `node` found.
  int64_t ExpectAnswersAsOn(const std::string& name, const std::vector<std::string>& ids,
                            int node, int reference) {
    int64_t found = 0;
    for (const std::string& id : ids) {
      absl::StatusOr<v1::CouponRequest> want = rpc::GetCouponRequest(cluster_->Channel(reference),
                                                                     id, 0);
      absl::StatusOr<v1::CouponRequest> got = rpc::GetCouponRequest(cluster_->Channel(node), id, 0);
      found += got.ok();
      EXPECT_EQ(got.status().code(), want.status().code())
          << name << ": " << id << " on " << cluster_->node_id(node) << ": " << got.status()
          << "; on " << cluster_->node_id(reference) << ": " << want.status();
      if (got.ok() && want.ok()) {
        EXPECT_EQ(got->ShortDebugString(), want->ShortDebugString())
            << name << ": " << id << " on " << cluster_->node_id(node) << " vs "
            << cluster_->node_id(reference);
      }
    }
    return found;
  }

  std::vector<std::string> FloodIds(bool first, int64_t count) const {
    std::vector<std::string> ids;
    for (int64_t i = 0; i < count; ++i) {
      ids.push_back(LongId("lh-flood-req", first ? i : flood_requests_ - 1 - i));
    }
    return ids;
  }

  // The sale's invariants on every up node, from the answers gathered so
  // far: the same campaign everywhere with issued = what the answers say and
  // remaining = quantity - issued; every issued request read ISSUED with the
  // same coupon everywhere; coupons distinct, "<code>-1".."<code>-<issued>",
  // one per user. Plus no blocked partition, on any node.
  void CheckSale(const std::string& name) {
    const std::vector<int> up = Up();
    const int64_t want = static_cast<int64_t>(issued_.size());
    const absl::Status same = rpc::WaitFor(
        absl::StrCat(name, ": campaign ", kCode, " with issued=", want,
                     " and remaining=", kQuantity - want, " on every up node"),
        absl::Seconds(60), [&](std::string* detail) {
          std::vector<std::string> seen;
          bool all = true;
          for (int i : up) {
            absl::StatusOr<v1::Campaign> c = rpc::GetCampaign(cluster_->Channel(i), kCode);
            seen.push_back(absl::StrCat(
                cluster_->node_id(i), "=",
                c.ok() ? absl::StrCat("issued ", c->issued(), " remaining ", c->remaining())
                       : c.status().ToString()));
            all = all && c.ok() && c->issued() == want && c->remaining() == kQuantity - want &&
                  c->total_quantity() == kQuantity;
          }
          *detail = absl::StrJoin(seen, ", ");
          return all;
        });
    EXPECT_TRUE(same.ok()) << same;

    std::set<std::string> coupons, users;
    for (const auto& [request_id, decided] : issued_) {
      EXPECT_TRUE(users.insert(decided.first).second)
          << name << ": user " << decided.first << " was issued two coupons";
      EXPECT_TRUE(coupons.insert(decided.second).second)
          << name << ": coupon " << decided.second << " issued twice";
      for (int i : up) {
        absl::StatusOr<v1::CouponRequest> r = SettledCoupon(i, request_id, absl::Seconds(30));
        ASSERT_TRUE(r.ok()) << name << ": issued request " << request_id << " on "
                            << cluster_->node_id(i) << ": " << r.status();
        EXPECT_EQ(r->status(), v1::COUPON_REQUEST_STATUS_ISSUED)
            << name << ": " << cluster_->node_id(i) << ": " << r->ShortDebugString();
        EXPECT_EQ(r->coupon_id(), decided.second)
            << name << ": " << cluster_->node_id(i) << ": " << r->ShortDebugString();
      }
    }
    std::set<std::string> expected_coupons;
    for (int64_t n = 1; n <= want; ++n) expected_coupons.insert(absl::StrCat(kCode, "-", n));
    EXPECT_EQ(coupons, expected_coupons) << name << ": the coupons handed out";

    for (int i : up) {
      absl::StatusOr<std::string> body = cluster_->Metrics(i);
      ASSERT_TRUE(body.ok()) << body.status();
      for (const std::string& decider : Deciders()) {
        absl::StatusOr<double> blocked =
            MetricValue(*body, "surge_cluster_blocked_partitions",
                        {{"node", cluster_->node_id(i)}, {"decider", decider}});
        EXPECT_TRUE(blocked.ok() && *blocked == 0)
            << name << ": " << cluster_->node_id(i)
            << ": surge_cluster_blocked_partitions{decider=\"" << decider
            << "\"}: " << (blocked.ok() ? absl::StrCat(*blocked) : blocked.status().ToString());
      }
    }
    for (int i = 0; i < cluster_->size(); ++i) {
      const std::vector<std::string> refused = LogLines(i, "cannot be restored");
      EXPECT_TRUE(refused.empty()) << name << ": " << cluster_->node_id(i) << " refused a "
                                   << "partition:\n  " << absl::StrJoin(refused, "\n  ");
    }
  }

  // The owner of the campaign's coupons partition restored it last from a
  // snapshot or from its warm standby (a restore from the first record is
  // impossible past retention), and its metrics count such restores.
  // Returns the owner.
  int ExpectOwnerRestoredFromSnapshotOrStandby(const std::string& name) {
    int owner = -1;
    const absl::Status owned =
        rpc::WaitFor(absl::StrCat(name, ": an up node to own coupons/", partition_),
                     kOwnershipTimeout, [&](std::string* detail) {
                       owner = cluster_->OwnerOf("coupons", partition_);
                       *detail = absl::StrCat("owner index ", owner);
                       return owner >= 0 && cluster_->up(owner);
                     });
    EXPECT_TRUE(owned.ok()) << owned;
    if (!owned.ok()) return -1;
    const std::vector<std::string> restores =
        LogLines(owner, absl::StrCat("restored ", kafka::kCouponsTopic, "/", partition_, " from "));
    EXPECT_FALSE(restores.empty()) << name << ": " << cluster_->node_id(owner) << " owns coupons/"
                                   << partition_ << " but logged no restore of it";
    if (!restores.empty()) {
      const std::string& last = restores.back();
      EXPECT_TRUE(absl::StrContains(last, "warm standby") ||
                  absl::StrContains(last, "from a snapshot at input offset"))
          << name << ": " << cluster_->node_id(owner) << " restored coupons/" << partition_
          << " from neither a snapshot nor its standby: " << last;
      std::fprintf(stderr, "%s: coupons/%d owned by %s; its restore: %s\n", name.c_str(),
                   partition_, cluster_->node_id(owner).c_str(), last.c_str());
    }
    absl::StatusOr<std::string> body = cluster_->Metrics(owner);
    EXPECT_TRUE(body.ok()) << body.status();
    if (body.ok()) {
      const auto restores_from = [&](const char* source) {
        absl::StatusOr<double> v = MetricValue(*body, "surge_cluster_restores_total",
                                               {{"decider", "coupons"}, {"source", source}});
        return v.ok() ? *v : -1;
      };
      const double snapshot = restores_from("snapshot"), standby = restores_from("standby"),
                   changelog = restores_from("changelog");
      EXPECT_GE(snapshot + standby, 1) << name << ": " << cluster_->node_id(owner);
      std::fprintf(stderr,
                   "%s: %s surge_cluster_restores_total{decider=\"coupons\"}: snapshot %.0f, "
                   "standby %.0f, changelog %.0f (partitions with no snapshot yet)\n",
                   name.c_str(), cluster_->node_id(owner).c_str(), snapshot, standby, changelog);
    }
    return owner;
  }

  void StartCluster(Cluster::Options options) {
    absl::StatusOr<std::unique_ptr<Cluster>> cluster = Cluster::Start(std::move(options));
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }

  std::unique_ptr<Cluster> cluster_;
  const int32_t partition_ = kafka::PartitionFor(kCode, kPartitions);
  // Users holding a coupon, and the issued requests: request id -> (user,
  // coupon id).
  std::vector<std::string> holder_users_;
  std::map<std::string, std::pair<std::string, std::string>> issued_;
  std::vector<Sent> step_requests_;
  std::map<std::string, v1::CouponRequest> decided_;  // request id -> first settled answer
  int64_t flood_requests_ = 0;  // the flood sent request indices [0, flood_requests_)
};

TEST_F(ClusterLongHistoryTest, ASaleFarPastRetentionSurvivesJoinKillAndLostDisk) {
  const absl::Time test_start = absl::Now();
  ASSERT_NO_FATAL_FAILURE(
      StartCluster({.nodes = 1, .partitions = kPartitions, .node_flags = {"--ack=kafka"}}));
  ASSERT_OK(cluster_->WaitAllPartitionsOwned({0}, false, kOwnershipTimeout));
  ASSERT_OK(rpc::CreateCampaign(cluster_->Channel(0), "lh-campaign", kCode, kQuantity, 1));
  ASSERT_OK(WaitCampaignVisible({0}));
  const std::string changelog = kafka::ChangelogTopic(kafka::kCouponsTopic);
  PartitionMeter meter(cluster_->bootstrap(), changelog, partition_);
  ASSERT_OK(meter.Start());

  // --- The first kFirstHolders users get a coupon each. ---
  {
    std::vector<Sent> first;
    for (int k = 0; k < kFirstHolders; ++k) {
      first.push_back({LongId("lh-first-req", k), LongId("lh-first-user", k), false, 0});
    }
    ASSERT_NO_FATAL_FAILURE(SendAll(first, {0}));
    ASSERT_NO_FATAL_FAILURE(SettleStep("first sales", first));
    ASSERT_EQ(issued_.size(), static_cast<size_t>(kFirstHolders));
  }

  // --- The flood: holders asking again, until the changelog partition got
  // kFloodChangelogBytes. ---
  const absl::Time flood_start = absl::Now();
  {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> acked{0};
    std::atomic<int64_t> windows{0};
    std::atomic<bool> stop{false};
    absl::Mutex mu;
    std::vector<std::string> problems;  // guarded by mu
    int64_t problem_count = 0;          // guarded by mu
    const auto problem = [&](std::string what) {
      absl::MutexLock lock(&mu);
      ++problem_count;
      if (problems.size() < 10) problems.push_back(std::move(what));
      stop = true;  // one unexpected answer is enough to fail: stop early
    };
    const std::shared_ptr<grpc::Channel> channel = cluster_->Channel(0);
    const std::vector<std::string> holders = holder_users_;
    const absl::Time deadline = absl::Now() + kFloodTimeout;
    std::vector<std::thread> threads;
    for (int t = 0; t < kFloodThreads; ++t) {
      threads.emplace_back([&] {
        while (!stop && absl::Now() < deadline) {
          std::string last;
          for (int k = 0; k < kWindow && !stop; ++k) {
            const int64_t i = next++;
            const std::string request_id = LongId("lh-flood-req", i);
            absl::StatusOr<v1::RequestCouponResponse> r = absl::UnknownError("not sent");
            // The same request id again when the call fails (a client that
            // retries); a refusal under this bounded load is still a failure.
            for (int attempt = 0; attempt < 3 && !r.ok(); ++attempt) {
              r = rpc::RequestCoupon(channel, request_id, holders[i % holders.size()], kCode,
                                     absl::Seconds(10));
            }
            if (!r.ok()) {
              problem(absl::StrCat("RequestCoupon ", request_id, ": ", r.status().ToString()));
              return;
            }
            ++acked;
            last = request_id;
          }
          if (last.empty()) return;
          // Throttle on settled progress: the window's last request decided.
          absl::StatusOr<v1::CouponRequest> d = absl::UnknownError("not asked");
          const absl::Time settle_deadline = absl::Now() + kSettleTimeout;
          do {
            d = rpc::GetCouponRequest(channel, last, kSettleWaitMs);
          } while ((!d.ok() || d->status() == v1::COUPON_REQUEST_STATUS_PENDING) &&
                   absl::Now() < settle_deadline);
          if (!d.ok()) {
            problem(absl::StrCat("GetCouponRequest ", last, ": ", d.status().ToString()));
            return;
          }
          if (d->status() != v1::COUPON_REQUEST_STATUS_REJECTED ||
              d->reason() != v1::COUPON_REJECT_REASON_LIMIT_REACHED) {
            problem(absl::StrCat("a holder's repeat was not refused LIMIT_REACHED: ",
                                 d->ShortDebugString()));
            return;
          }
          ++windows;
        }
      });
    }
    // Progress, polled: the bytes the meter has read from the changelog.
    const absl::Status reached = rpc::WaitFor(
        absl::StrCat(kFloodChangelogBytes >> 20, " MiB written to ", changelog, "/", partition_),
        kFloodTimeout,
        [&](std::string* detail) {
          *detail = absl::StrCat(meter.bytes() >> 20, " MiB in ", meter.records(),
                                 " records after ", acked.load(), " requests acknowledged, ",
                                 windows.load(), " windows decided");
          return stop || meter.bytes() >= kFloodChangelogBytes;
        },
        absl::Milliseconds(500));
    stop = true;
    for (std::thread& t : threads) t.join();
    {
      absl::MutexLock lock(&mu);
      ASSERT_EQ(problem_count, 0) << problem_count << " flood problems, first ones:\n  "
                                  << absl::StrJoin(problems, "\n  ");
    }
    ASSERT_OK(reached);
    flood_requests_ = acked.load();  // no problem: every index sent was acknowledged
    const absl::Duration took = absl::Now() - flood_start;
    std::fprintf(stderr,
                 "flood: %lld requests acknowledged (%lld windows of %d decided) in %s (%.0f/s); "
                 "%s/%d got %.1f MiB in %lld records%s\n",
                 static_cast<long long>(acked.load()), static_cast<long long>(windows.load()),
                 kWindow, absl::FormatDuration(took).c_str(),
                 static_cast<double>(acked.load()) / absl::ToDoubleSeconds(took), changelog.c_str(),
                 partition_, static_cast<double>(meter.bytes()) / (1 << 20),
                 static_cast<long long>(meter.records()),
                 meter.fell_behind() ? " (the meter fell behind retention: a lower bound)" : "");
  }
  // The history is really past retention, in the changelog and in the input.
  for (const std::string& topic : {changelog, std::string(kafka::kCouponsTopic)}) {
    absl::StatusOr<std::pair<int64_t, int64_t>> w = meter.Watermarks(topic, partition_);
    ASSERT_TRUE(w.ok()) << w.status();
    std::fprintf(stderr, "%s/%d: offsets %lld..%lld retained\n", topic.c_str(), partition_,
                 static_cast<long long>(w->first), static_cast<long long>(w->second - 1));
    EXPECT_GT(w->first, 0) << topic << "/" << partition_
                           << " still starts at offset 0: the history did not outgrow retention";
  }
  {
    absl::StatusOr<std::string> body = cluster_->Metrics(0);
    ASSERT_TRUE(body.ok()) << body.status();
    absl::StatusOr<double> snapshots =
        MetricValue(*body, "surge_cluster_snapshots_total", {{"decider", "coupons"}});
    ASSERT_TRUE(snapshots.ok()) << snapshots.status();
    EXPECT_GT(*snapshots, 0) << "no snapshot of the coupons partitions was written";
    absl::StatusOr<double> failures =
        MetricValue(*body, "surge_cluster_snapshot_failures_total", {{"decider", "coupons"}});
    EXPECT_TRUE(failures.ok() && *failures == 0)
        << "surge_cluster_snapshot_failures_total{decider=\"coupons\"}: "
        << (failures.ok() ? absl::StrCat(*failures) : failures.status().ToString());
    // The refusals are view-only: the state holds the issued requests, the
    // holdings, the campaign and a dedupe mark per origin, not the flood.
    absl::StatusOr<double> keys =
        MetricValue(*body, "surge_cluster_state_keys", {{"decider", "coupons"}});
    ASSERT_TRUE(keys.ok()) << keys.status();
    EXPECT_LE(*keys, 2 * kFirstHolders + 10) << "the coupons decider state grew with the flood";
    std::fprintf(stderr, "n1: %.0f coupon snapshots written; coupons state %.0f keys\n", *snapshots,
                 *keys);
  }
  ASSERT_NO_FATAL_FAILURE(CheckSale("after the flood"));

  // --- (a) A node joins: the partitions are dealt again. ---
  absl::Time step_start = absl::Now();
  absl::StatusOr<int> added = cluster_->AddNode();
  ASSERT_TRUE(added.ok()) << added.status();
  {
    const std::vector<Sent> requests = MakeStepRequests(1, 20, 100);
    const std::vector<Sent> early(requests.begin(), requests.begin() + requests.size() / 2);
    const std::vector<Sent> late(requests.begin() + requests.size() / 2, requests.end());
    // Sent while the group rebalances (n2's view may not hold the campaign).
    ASSERT_NO_FATAL_FAILURE(SendAll(early, {0}));
    ASSERT_OK(cluster_->WaitAllPartitionsOwned({0, *added}, true, kOwnershipTimeout));
    ASSERT_OK(WaitCampaignVisible({0, *added}));
    ASSERT_NO_FATAL_FAILURE(SendAll(late, {*added, 0}));
    ASSERT_NO_FATAL_FAILURE(SettleStep("(a) n2 joined", requests));
  }
  ExpectOwnerRestoredFromSnapshotOrStandby("(a) n2 joined");
  {
    // n2's view started from a snapshot: the flood's refusals (view-only)
    // are not in it, yet n2 answers for them as n1 does, through n1.
    const std::vector<std::string> first = FloodIds(true, 100);
    const int64_t found = ExpectAnswersAsOn("(a) n2 joined", first, *added, 0);
    EXPECT_EQ(found, static_cast<int64_t>(first.size()))
        << "n1 followed the whole sale and has every refusal";
    absl::StatusOr<std::string> body = cluster_->Metrics(*added);
    ASSERT_TRUE(body.ok()) << body.status();
    absl::StatusOr<double> peer_found =
        MetricValue(*body, "surge_cluster_peer_reads_total", {{"result", "found"}});
    EXPECT_TRUE(peer_found.ok() && *peer_found > 0)
        << "n2 answered the flood's first requests without asking n1: its view was expected to "
        << "resume from a snapshot past them; surge_cluster_peer_reads_total{result=\"found\"}: "
        << (peer_found.ok() ? absl::StrCat(*peer_found) : peer_found.status().ToString());
  }
  std::fprintf(stderr, "(a) took %s\n", absl::FormatDuration(absl::Now() - step_start).c_str());
  if (HasFatalFailure()) return;

  // --- (b) The partition's owner is SIGKILLed; the other node takes it
  // over. Then the victim comes back on its disk. ---
  step_start = absl::Now();
  {
    const int victim = cluster_->OwnerOf("coupons", partition_);
    ASSERT_GE(victim, 0);
    const int survivor = victim == 0 ? 1 : 0;
    std::fprintf(stderr, "(b) SIGKILL %s, the owner of coupons/%d\n",
                 cluster_->node_id(victim).c_str(), partition_);
    cluster_->Kill(victim);
    const std::vector<Sent> requests = MakeStepRequests(2, 20, 100);
    const std::vector<Sent> early(requests.begin(), requests.begin() + requests.size() / 2);
    const std::vector<Sent> late(requests.begin() + requests.size() / 2, requests.end());
    // Accepted while nobody decides the partition: they wait in Kafka.
    ASSERT_NO_FATAL_FAILURE(SendAll(early, {survivor}));
    ASSERT_OK(cluster_->WaitAllPartitionsOwned({survivor}, false, kOwnershipTimeout));
    ASSERT_NO_FATAL_FAILURE(SendAll(late, {survivor}));
    ASSERT_NO_FATAL_FAILURE(SettleStep("(b) owner killed", requests));
    const int owner = ExpectOwnerRestoredFromSnapshotOrStandby("(b) owner killed");
    EXPECT_EQ(owner, survivor);
    std::fprintf(stderr, "(b) takeover took %s\n",
                 absl::FormatDuration(absl::Now() - step_start).c_str());
    if (HasFatalFailure()) return;

    ASSERT_OK(cluster_->Restart(victim));
    ASSERT_OK(cluster_->WaitMemberAlive(survivor, victim));
    ASSERT_OK(cluster_->WaitAllPartitionsOwned({0, 1}, true, kOwnershipTimeout));
    ASSERT_OK(WaitCampaignVisible({0, 1}));
    const std::vector<Sent> again = MakeStepRequests(3, 10, 20);
    ASSERT_NO_FATAL_FAILURE(SendAll(again, {victim, survivor}));
    ASSERT_NO_FATAL_FAILURE(SettleStep("(b) victim back on its disk", again));
    ExpectOwnerRestoredFromSnapshotOrStandby("(b) victim back on its disk");
  }
  std::fprintf(stderr, "(b) took %s\n", absl::FormatDuration(absl::Now() - step_start).c_str());
  if (HasFatalFailure()) return;

  // --- (c) The (new) owner is SIGKILLed and its disk lost; it comes back
  // empty under the same node id and rebuilds its views from snapshots. ---
  step_start = absl::Now();
  {
    const int victim = cluster_->OwnerOf("coupons", partition_);
    ASSERT_GE(victim, 0);
    const int survivor = victim == 0 ? 1 : 0;
    std::fprintf(stderr, "(c) SIGKILL %s, the owner of coupons/%d, and delete its data dir\n",
                 cluster_->node_id(victim).c_str(), partition_);
    cluster_->Kill(victim);
    ASSERT_OK(cluster_->WipeDisk(victim));
    // More new users than coupons left: the last ones are told SOLD_OUT.
    const int64_t left = kQuantity - static_cast<int64_t>(issued_.size());
    const std::vector<Sent> requests = MakeStepRequests(4, 20, static_cast<int>(left) + 30);
    const std::vector<Sent> early(requests.begin(), requests.begin() + requests.size() / 2);
    const std::vector<Sent> late(requests.begin() + requests.size() / 2, requests.end());
    ASSERT_NO_FATAL_FAILURE(SendAll(early, {survivor}));
    ASSERT_OK(cluster_->WaitAllPartitionsOwned({survivor}, false, kOwnershipTimeout));
    // The survivor decides while the victim is gone.
    ASSERT_NO_FATAL_FAILURE(SettleStep("(c) owner lost with its disk", early));
    EXPECT_EQ(ExpectOwnerRestoredFromSnapshotOrStandby("(c) owner lost with its disk"), survivor);
    std::fprintf(stderr, "(c) takeover took %s\n",
                 absl::FormatDuration(absl::Now() - step_start).c_str());
    if (HasFatalFailure()) return;

    // Back empty: its new view starts from the changelog's retained records.
    const size_t resumed_before = LogLines(victim, "resumes from a snapshot").size();
    ASSERT_OK(cluster_->Restart(victim));
    ASSERT_OK(cluster_->WaitMemberAlive(survivor, victim));
    ASSERT_OK(WaitCampaignVisible({victim}));
    ASSERT_OK(cluster_->WaitAllPartitionsOwned({0, 1}, true, kOwnershipTimeout));
    ASSERT_NO_FATAL_FAILURE(SendAll(late, {victim, survivor}));
    ASSERT_NO_FATAL_FAILURE(SettleStep("(c) wiped node back", late));
    // What the survivor decided after the wipe reads the same on the wiped
    // node (they are newer than any snapshot its view may have resumed from).
    ASSERT_NO_FATAL_FAILURE(ExpectDecidedEverywhere("(c) wiped node back", early));
    ExpectOwnerRestoredFromSnapshotOrStandby("(c) wiped node back");
    const std::vector<std::string> resumed = LogLines(victim, "resumes from a snapshot");
    EXPECT_GT(resumed.size(), resumed_before)
        << cluster_->node_id(victim) << " came back without its disk, and its view should "
        << "have resumed from a snapshot (the changelog's first records are gone)";
    std::fprintf(stderr, "(c) the wiped %s's view: %s\n", cluster_->node_id(victim).c_str(),
                 absl::StrJoin(resumed.begin() + std::min(resumed_before, resumed.size()),
                               resumed.end(), "; ")
                     .c_str());
    {
      // Rejected requests decided before the snapshot the wiped node's view
      // resumed from are in no snapshot; it answers for them as the
      // survivor does (asking it). Whatever neither holds any more (the
      // survivor joined in (a), after the flood) is NOT_FOUND on both.
      std::vector<std::string> ids;
      for (const Sent& s : step_requests_) {
        if (s.step < 4 && issued_.count(s.request_id) == 0) ids.push_back(s.request_id);
      }
      const size_t refused = ids.size();
      for (const std::string& id : FloodIds(true, 100)) ids.push_back(id);
      for (const std::string& id : FloodIds(false, 100)) ids.push_back(id);
      const int64_t found = ExpectAnswersAsOn("(c) wiped node back", ids, victim, survivor);
      std::fprintf(stderr,
                   "(c) the wiped %s answers %lld of %zu earlier refusals (%zu of the steps', "
                   "the flood's first and last 100) as %s does\n",
                   cluster_->node_id(victim).c_str(), static_cast<long long>(found), ids.size(),
                   refused, cluster_->node_id(survivor).c_str());
    }
  }
  std::fprintf(stderr, "(c) took %s; the whole test %s\n",
               absl::FormatDuration(absl::Now() - step_start).c_str(),
               absl::FormatDuration(absl::Now() - test_start).c_str());
  EXPECT_EQ(static_cast<int64_t>(issued_.size()), kQuantity) << "the sale should be sold out";
}

}  // namespace
}  // namespace surge::cluster_test
