#include "cluster/view.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cluster/cluster.pb.h"
#include "cluster/partition_state.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/thread_name.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"
#include "projections/projection_state.h"
#include "projections/read_models.h"

namespace surge::cluster {
namespace {

using kafka::internal::ClientHandle;
using kafka::internal::MessageHandle;
using kafka::internal::TopicPartitionListHandle;

constexpr char kComponent[] = "cluster";
constexpr char kCountPrefix[] = "#count/";

std::string SlotKey(const std::string& changelog, int32_t partition) {
  return absl::StrCat("view/", changelog, "/", partition);
}

// The read models a view keeps; the deciders' other rows (saga state,
// holdings) matter only to deciders.
bool IsReadModel(const std::string& cf) {
  return cf == projections::kStockCf || cf == projections::kOrdersCf ||
         cf == projections::kCampaignsCf || cf == projections::kCouponRequestsCf;
}

}  // namespace

struct View::Kafka {
  ClientHandle consumer;
};

struct View::Slot {
  int64_t consumed = 0;    // next changelog offset to read
  int64_t chain_next = 0;  // input offset the mirrored state reflects
  int64_t max_epoch = 0;
};

absl::StatusOr<std::unique_ptr<View>> View::Create(const Options& options,
                                                   eventstore::EventStore& store) {
  if (options.bootstrap_servers.empty() || options.origin.empty() || options.deciders.empty() ||
      options.partitions < 1) {
    return absl::InvalidArgumentError("View needs bootstrap_servers, origin, deciders, partitions");
  }
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"group.id", absl::StrCat("surge-view-", options.node_id)},
      {"client.id", absl::StrCat("surge-", options.node_id, "-view")},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"fetch.wait.max.ms", "5"},
      {"queued.max.messages.kbytes", "8192"},
  };
  for (const auto& [k, v] : options.consumer_config) settings[k] = v;
  auto kafka = std::make_unique<Kafka>();
  SURGE_ASSIGN_OR_RETURN(kafka::internal::ConfHandle conf, kafka::internal::MakeConf(settings));
  SURGE_ASSIGN_OR_RETURN(kafka->consumer,
                         kafka::internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
  rd_kafka_poll_set_consumer(kafka->consumer.get());
  return std::unique_ptr<View>(new View(options, store, std::move(kafka)));
}

View::View(const Options& options, eventstore::EventStore& store, std::unique_ptr<Kafka> kafka)
    : options_(options), store_(store), kafka_(std::move(kafka)) {}

View::~View() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
  rd_kafka_consumer_close(kafka_->consumer.get());
}

bool View::Backoff(int attempt) {
  absl::Duration wait = options_.backoff_min;
  for (int i = 1; i < attempt && wait < options_.backoff_max; ++i) wait *= 2;
  return !stop_.WaitForNotificationWithTimeout(std::min(wait, options_.backoff_max));
}

absl::Status View::Start() {
  TopicPartitionListHandle list(rd_kafka_topic_partition_list_new(
      static_cast<int>(options_.deciders.size()) * options_.partitions));
  {
    absl::MutexLock lock(&mu_);
    stats_.clear();
  }
  for (const auto& [decider, topic] : options_.deciders) {
    const std::string changelog = kafka::ChangelogTopic(topic);
    by_changelog_[changelog] = {decider, topic};
    std::vector<Slot>& slots = slots_[changelog];
    slots.resize(static_cast<size_t>(options_.partitions));
    for (int32_t p = 0; p < options_.partitions; ++p) {
      SURGE_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                             store_.Get(eventstore::kCheckpointsCf, SlotKey(changelog, p)));
      Slot& slot = slots[static_cast<size_t>(p)];
      if (stored.has_value() && stored->size() == 24) {
        slot.consumed = static_cast<int64_t>(DecodeMark(stored->substr(0, 8)));
        slot.chain_next = static_cast<int64_t>(DecodeMark(stored->substr(8, 8)));
        slot.max_epoch = static_cast<int64_t>(DecodeMark(stored->substr(16, 8)));
      }
      rd_kafka_topic_partition_list_add(list.get(), changelog.c_str(), p)->offset =
          slot.consumed > 0 ? slot.consumed : RD_KAFKA_OFFSET_BEGINNING;
      {
        // A view that read the partition before this process started has
        // rows, not a state: its standby warms up at the next snapshot.
        absl::MutexLock lock(&standby_mu_);
        Standby& standby = standbys_[{changelog, p}];
        standby = Standby();
        standby.view_chain_next = slot.chain_next;
        standby.warm.changelog_next = slot.consumed;
      }
    }
    absl::MutexLock lock(&mu_);
    stats_.push_back(DeciderStats{.decider = decider, .topic = changelog});
  }
  SURGE_RETURN_IF_ERROR(kafka::internal::KafkaStatus(
      rd_kafka_assign(kafka_->consumer.get(), list.get()), "assign changelogs"));
  SURGE_LOG(INFO, kComponent) << "view: mirroring " << options_.deciders.size() << " changelogs, "
                              << options_.partitions << " partitions each";
  thread_ = std::thread([this] {
    SetCurrentThreadName("surge-view");
    Run();
  });
  return absl::OkStatus();
}

std::vector<View::DeciderStats> View::GetStats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void View::Run() {
  rd_kafka_t* rk = kafka_->consumer.get();
  const int poll_ms = static_cast<int>(absl::ToInt64Milliseconds(options_.poll_timeout));
  projections::EventStoreStateReader reader(&store_);
  while (!stop_.HasBeenNotified()) {
    std::vector<MessageHandle> batch;
    for (int timeout = poll_ms; batch.size() < options_.max_batch; timeout = 0) {
      MessageHandle msg(rd_kafka_consumer_poll(rk, timeout));
      if (msg == nullptr) break;
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          SURGE_LOG(WARNING, kComponent) << "view: consumer: " << rd_kafka_err2name(msg->err)
                                         << ": " << rd_kafka_message_errstr(msg.get());
        }
        continue;
      }
      batch.push_back(std::move(msg));
    }
    if (batch.empty()) {
      UpdateLag();
      continue;
    }
    // Work on copies: only a committed append moves the slots.
    std::map<std::string, std::vector<Slot>> slots = slots_;
    std::map<std::string, std::pair<uint64_t, uint64_t>>
        counted;  // changelog -> (applied, ignored)
    projections::OverlayState state(&reader);
    std::set<std::pair<std::string, int32_t>> touched;
    std::set<std::string> counts;  // "#count/<STATUS>" keys to re-add
    // A record's (or a snapshot chunk's) rows into the read models; the
    // marks of this node's origin into the relay's applied checkpoints.
    auto apply_writes = [&](const std::string& changelog, const ChangelogBatch& record,
                            int32_t partition, bool marks_only) {
      const auto& [decider, topic] = by_changelog_[changelog];
      for (const StateWrite& w : record.writes()) {
        if (w.cf() == kMarksCf) {
          if (w.key() != options_.origin) continue;
          // How far the cluster decided this node's events on that partition.
          const std::string key = projections::AppliedPositionKey(decider, topic, partition);
          absl::StatusOr<std::optional<std::string>> old =
              state.Get(eventstore::kCheckpointsCf, key);
          const uint64_t mark = std::max(DecodeMark(old.ok() ? *old : std::nullopt),
                                         DecodeMark(std::optional<std::string>(w.value())));
          state.Put(eventstore::kCheckpointsCf, key, EncodeMark(mark));
          continue;
        }
        if (marks_only || !IsReadModel(w.cf())) continue;
        if (w.cf() == projections::kOrdersCf && absl::StartsWith(w.key(), kCountPrefix)) {
          // Counts are per decider partition: kept apart, summed below.
          state.Put(w.cf(), absl::StrCat(w.key(), "@", partition), w.value());
          counts.insert(w.key());
          continue;
        }
        if (w.deleted()) {
          state.Delete(w.cf(), w.key());
        } else {
          state.Put(w.cf(), w.key(), w.value());  // view_only rows too: they are for views
        }
      }
    };
    for (const MessageHandle& msg : batch) {
      const std::string changelog = rd_kafka_topic_name(msg->rkt);
      auto found = slots.find(changelog);
      if (found == slots.end() || msg->partition < 0 ||
          msg->partition >= static_cast<int32_t>(found->second.size())) {
        continue;
      }
      Slot& slot = found->second[static_cast<size_t>(msg->partition)];
      if (msg->offset < slot.consumed) continue;  // seen before a restart
      slot.consumed = msg->offset + 1;
      touched.insert({changelog, msg->partition});
      ChangelogBatch record;
      if (msg->payload == nullptr ||
          !record.ParseFromArray(msg->payload, static_cast<int>(msg->len))) {
        SURGE_LOG(ERROR, kComponent) << "view: unreadable record " << changelog << "/"
                                     << msg->partition << "@" << msg->offset << ", skipped";
        continue;
      }
      slot.max_epoch = std::max(slot.max_epoch, record.epoch());
      FeedStandby(changelog, msg->partition, msg->offset, msg->len, record);
      if (record.has_snapshot()) {
        // A snapshot moves a view only past what its chain reached: a
        // chain that broke (retention dropped records this view never
        // read: it joined late, or lost its disk) resumes there.
        SnapshotAssembler& assembler = assemblers_[{changelog, msg->partition}];
        if (!assembler.Offer(record, msg->offset)) continue;
        std::vector<ChangelogBatch> chunks = assembler.TakeComplete();
        if (chunks.front().base_offset() <= slot.chain_next) continue;
        SURGE_LOG(INFO, kComponent)
            << "view: " << changelog << "/" << msg->partition << " resumes from a snapshot at input "
            << "offset " << chunks.front().base_offset() << " (its chain had reached "
            << slot.chain_next << ")";
        slot.chain_next = chunks.front().base_offset();
        SetStandbyChain(changelog, msg->partition, slot.chain_next);
        ++counted[changelog].first;
        for (const ChangelogBatch& chunk : chunks) {
          apply_writes(changelog, chunk, msg->partition, /*marks_only=*/false);
        }
        continue;
      }
      if (!ExtendsChain(slot.chain_next, record)) {
        ++counted[changelog].second;
        if (record.base_offset() > slot.chain_next) {
          // Past a break in the chain (retention dropped records this view
          // had not read: it fell behind, joined late or lost its disk):
          // its rows wait for the next snapshot, but its marks are facts
          // (the decider decided this node's events up to them, and its
          // decisions are in Kafka before its record), so the relay's
          // applied checkpoints and with them the decided watermark go on.
          // Without this, a node whose view fell behind retention under
          // load kept its watermark, and so admission's measure, stuck
          // until a snapshot came, and admission refused every command
          // meanwhile: no command, no snapshot.
          apply_writes(changelog, record, msg->partition, /*marks_only=*/true);
        }
        continue;
      }
      slot.chain_next = record.next_offset();
      SetStandbyChain(changelog, msg->partition, slot.chain_next);
      ++counted[changelog].first;
      apply_writes(changelog, record, msg->partition, /*marks_only=*/false);
    }
    for (const std::string& key : counts) {
      uint64_t total = 0;
      for (int32_t p = 0; p < options_.partitions; ++p) {
        absl::StatusOr<std::optional<std::string>> part =
            state.Get(projections::kOrdersCf, absl::StrCat(key, "@", p));
        total += DecodeMark(part.ok() ? *part : std::nullopt);
      }
      state.Put(projections::kOrdersCf, key, EncodeMark(total));
    }
    eventstore::AppendRequest request;
    request.extra_writes = state.TakeWrites();
    for (const auto& [changelog, p] : touched) {
      const Slot& slot = slots[changelog][static_cast<size_t>(p)];
      request.extra_writes.push_back(
          {eventstore::kCheckpointsCf, SlotKey(changelog, p),
           absl::StrCat(EncodeMark(static_cast<uint64_t>(slot.consumed)),
                        EncodeMark(static_cast<uint64_t>(slot.chain_next)),
                        EncodeMark(static_cast<uint64_t>(slot.max_epoch)))});
    }
    bool committed = false;
    for (int attempt = 1; !stop_.HasBeenNotified(); ++attempt) {
      absl::StatusOr<eventstore::AppendResult> result = store_.Append(request);
      if (result.ok()) {
        committed = true;
        break;
      }
      SURGE_LOG(WARNING, kComponent) << "view: append failed, retrying: " << result.status();
      if (!Backoff(attempt)) break;
    }
    if (!committed) {
      // Stopping: the standbys ran ahead of rows that were not written.
      absl::MutexLock lock(&standby_mu_);
      standbys_.clear();
      return;
    }
    slots_ = std::move(slots);
    {
      absl::MutexLock lock(&mu_);
      for (DeciderStats& s : stats_) {
        auto it = counted.find(s.topic);
        if (it != counted.end()) {
          s.records += it->second.first;
          s.ignored += it->second.second;
        }
        for (const Slot& slot : slots_[s.topic])
          s.max_epoch = std::max(s.max_epoch, slot.max_epoch);
      }
    }
    UpdateLag();
    if (options_.on_applied) options_.on_applied();
  }
}

void View::FeedStandby(const std::string& changelog, int32_t partition, int64_t offset,
                       size_t bytes, const ChangelogBatch& record) {
  absl::MutexLock lock(&standby_mu_);
  Standby& standby = standbys_[{changelog, partition}];
  WarmState& warm = standby.warm;
  warm.changelog_next = offset + 1;
  if (!record.has_snapshot()) {
    warm.state.Apply(record);
    return;
  }
  warm.state.Observe(record);
  auto& assembler = standby_assemblers_[{changelog, partition}];
  if (!assembler.Offer(record, offset)) return;
  const std::vector<ChangelogBatch> chunks = assembler.TakeComplete();
  const int64_t at = chunks.front().base_offset();
  // A snapshot on the state's chain (taken where it stands) becomes the
  // pointer a new owner writes; one past it moves the state (the chain
  // broke, or the state is still empty after a restart); an older one (a
  // zombie's) is ignored.
  if (at == warm.state.next_offset() || warm.state.ApplySnapshot(chunks)) {
    warm.snapshot_at = assembler.complete_offset();
    warm.snapshot_unix_ms = chunks.front().written_unix_ms();
    warm.snapshot_bytes = 0;
    for (const ChangelogBatch& c : chunks) warm.snapshot_bytes += c.ByteSizeLong();
  }
  (void)bytes;
}

void View::SetStandbyChain(const std::string& changelog, int32_t partition, int64_t chain_next) {
  absl::MutexLock lock(&standby_mu_);
  standbys_[{changelog, partition}].view_chain_next = chain_next;
}

std::optional<WarmState> View::Warm(const std::string& changelog, int32_t partition) const {
  absl::MutexLock lock(&standby_mu_);
  auto it = standbys_.find({changelog, partition});
  if (it == standbys_.end()) return std::nullopt;
  const Standby& standby = it->second;
  // Warm when its chain is the view's: both apply the same records by the
  // same rule from the same start, or met at a snapshot since.
  if (standby.warm.state.next_offset() != standby.view_chain_next) return std::nullopt;
  if (standby.warm.state.next_offset() == 0 && standby.warm.changelog_next > 0) {
    return std::nullopt;  // read records but none applied (retention): no state yet
  }
  return standby.warm;
}

void View::UpdateLag() {
  rd_kafka_t* rk = kafka_->consumer.get();
  std::map<std::string, uint64_t> lags;
  for (const auto& [changelog, slots] : slots_) {
    uint64_t lag = 0;
    for (size_t p = 0; p < slots.size(); ++p) {
      int64_t low = 0;
      int64_t high = 0;
      if (rd_kafka_get_watermark_offsets(rk, changelog.c_str(), static_cast<int32_t>(p), &low,
                                         &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          high < 0) {
        continue;
      }
      const int64_t position = std::max(slots[p].consumed, low);
      if (high > position) lag += static_cast<uint64_t>(high - position);
    }
    lags[changelog] = lag;
  }
  absl::MutexLock lock(&mu_);
  for (DeciderStats& s : stats_) s.lag_messages = lags[s.topic];
}

}  // namespace surge::cluster
