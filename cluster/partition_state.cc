#include "cluster/partition_state.h"

#include <algorithm>

#include "eventstore/event_store.h"

namespace surge::cluster {

void PartitionState::Put(const std::string& cf, const std::string& key, const std::string& value) {
  auto [it, inserted] = rows_.try_emplace({cf, key}, value);
  if (inserted) {
    bytes_ += cf.size() + key.size() + value.size();
  } else {
    bytes_ = bytes_ - it->second.size() + value.size();
    it->second = value;
  }
}

void PartitionState::Erase(const std::string& cf, const std::string& key) {
  auto it = rows_.find({cf, key});
  if (it == rows_.end()) return;
  bytes_ -= cf.size() + key.size() + it->second.size();
  rows_.erase(it);
}

bool PartitionState::Apply(const ChangelogBatch& record) {
  Observe(record);
  if (record.has_snapshot() || !ExtendsChain(next_offset_, record)) return false;
  for (const StateWrite& w : record.writes()) {
    if (w.deleted() || w.view_only()) {
      Erase(w.cf(), w.key());
    } else {
      Put(w.cf(), w.key(), w.value());
    }
  }
  next_offset_ = record.next_offset();
  return true;
}

bool PartitionState::ApplySnapshot(const std::vector<ChangelogBatch>& chunks) {
  if (chunks.empty()) return false;
  for (const ChangelogBatch& chunk : chunks) Observe(chunk);
  const int64_t at = chunks.front().base_offset();
  if (at <= next_offset_) return false;
  rows_.clear();
  bytes_ = 0;
  for (const ChangelogBatch& chunk : chunks) {
    for (const StateWrite& w : chunk.writes()) {
      if (!w.deleted() && !w.view_only()) Put(w.cf(), w.key(), w.value());
    }
  }
  next_offset_ = at;
  return true;
}

std::vector<ChangelogBatch> PartitionState::Snapshot(const std::string& id, int64_t epoch,
                                                     const std::string& node_id,
                                                     size_t max_chunk_bytes) const {
  std::vector<ChangelogBatch> chunks;
  size_t chunk_bytes = 0;
  auto start_chunk = [&] {
    ChangelogBatch& c = chunks.emplace_back();
    c.set_epoch(epoch);
    c.set_node_id(node_id);
    c.set_base_offset(next_offset_);
    c.set_next_offset(next_offset_);
    c.mutable_snapshot()->set_id(id);
    chunk_bytes = 0;
  };
  start_chunk();
  for (const auto& [cf_key, value] : rows_) {
    const size_t row_bytes = cf_key.first.size() + cf_key.second.size() + value.size() + 8;
    if (chunk_bytes > 0 && chunk_bytes + row_bytes > max_chunk_bytes) start_chunk();
    StateWrite* w = chunks.back().add_writes();
    w->set_cf(cf_key.first);
    w->set_key(cf_key.second);
    w->set_value(value);
    chunk_bytes += row_bytes;
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    chunks[i].mutable_snapshot()->set_index(static_cast<int32_t>(i));
    chunks[i].mutable_snapshot()->set_count(static_cast<int32_t>(chunks.size()));
  }
  return chunks;
}

bool SnapshotAssembler::Offer(const ChangelogBatch& chunk, int64_t offset) {
  const SnapshotChunk& s = chunk.snapshot();
  if (s.count() < 1 || s.index() < 0 || s.index() >= s.count()) return false;
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const Pending& p) { return p.id == s.id(); });
  if (s.index() == 0) {
    if (it != pending_.end()) pending_.erase(it);  // written again: start over
    if (pending_.size() >= kMaxPending) pending_.erase(pending_.begin());
    pending_.push_back(Pending{s.id(), offset, {}});
    it = pending_.end() - 1;
  } else if (it == pending_.end() || it->chunks.size() != static_cast<size_t>(s.index())) {
    return false;  // its start was not seen, or a chunk is missing or repeated
  }
  it->chunks.push_back(chunk);
  if (it->chunks.size() < static_cast<size_t>(s.count())) return false;
  complete_ = std::move(it->chunks);
  complete_offset_ = it->first_offset;
  pending_.erase(it);
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
  if (it != writes_.end()) return it->second.value;
  if (parent_ != nullptr) return parent_->Get(cf, key);
  return base_->Get(cf, key);
}

void BatchOverlay::Put(const std::string& cf, const std::string& key, std::string value) {
  writes_[{cf, key}] = Write{std::move(value), false};
}

void BatchOverlay::PutReadModel(const std::string& cf, const std::string& key,
                                std::string value) {
  writes_[{cf, key}] = Write{std::move(value), true};
}

void BatchOverlay::Delete(const std::string& cf, const std::string& key) {
  writes_[{cf, key}] = Write{std::nullopt, false};
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
    if (v.value.has_value()) {
      w->set_value(*v.value);
      w->set_view_only(v.view_only);
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
