#include "cluster/partition_state.h"

#include "eventstore/event_store.h"

namespace surge::cluster {

bool PartitionState::Apply(const ChangelogBatch& record) {
  Observe(record);
  if (!ExtendsChain(next_offset_, record)) return false;
  for (const StateWrite& w : record.writes()) {
    if (w.deleted()) {
      rows_.erase({w.cf(), w.key()});
    } else {
      rows_[{w.cf(), w.key()}] = w.value();
    }
  }
  next_offset_ = record.next_offset();
  return true;
}

std::optional<std::string> PartitionState::Get(const std::string& cf,
                                               const std::string& key) const {
  auto it = rows_.find({cf, key});
  if (it == rows_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::optional<std::string>> BatchOverlay::Get(const std::string& cf,
                                                             const std::string& key) {
  auto it = writes_.find({cf, key});
  if (it != writes_.end()) return it->second;
  if (parent_ != nullptr) return parent_->Get(cf, key);
  return base_->Get(cf, key);
}

void BatchOverlay::Put(const std::string& cf, const std::string& key, std::string value) {
  writes_[{cf, key}] = std::move(value);
}

void BatchOverlay::Delete(const std::string& cf, const std::string& key) {
  writes_[{cf, key}] = std::nullopt;
}

void BatchOverlay::MergeIntoParent() {
  for (auto& [k, v] : writes_) parent_->writes_[k] = std::move(v);
  writes_.clear();
}

void BatchOverlay::AppendWrites(ChangelogBatch& record) const {
  for (const auto& [k, v] : writes_) {
    StateWrite* w = record.add_writes();
    w->set_cf(k.first);
    w->set_key(k.second);
    if (v.has_value()) {
      w->set_value(*v);
    } else {
      w->set_deleted(true);
    }
  }
}

std::string EncodeMark(uint64_t position) { return eventstore::EncodeBigEndian64(position); }

uint64_t DecodeMark(const std::optional<std::string>& bytes) {
  if (!bytes.has_value() || bytes->size() != 8) return 0;
  uint64_t v = 0;
  for (unsigned char c : *bytes) v = (v << 8) | c;
  return v;
}

}  // namespace surge::cluster
