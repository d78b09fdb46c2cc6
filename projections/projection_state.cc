#include "projections/projection_state.h"

namespace surge::projections {

absl::StatusOr<std::optional<std::string>> OverlayState::Get(const std::string& cf,
                                                             const std::string& key) {
  auto it = writes_.find({cf, key});
  if (it != writes_.end()) return it->second;
  return base_->Get(cf, key);
}

void OverlayState::Put(const std::string& cf, const std::string& key, std::string value) {
  writes_[{cf, key}] = std::move(value);
}

void OverlayState::Delete(const std::string& cf, const std::string& key) {
  writes_[{cf, key}] = std::nullopt;
}

std::vector<eventstore::ExtraWrite> OverlayState::TakeWrites() {
  std::vector<eventstore::ExtraWrite> out;
  out.reserve(writes_.size());
  for (auto& [cf_key, value] : writes_) {
    out.push_back(eventstore::ExtraWrite{cf_key.first, cf_key.second, std::move(value)});
  }
  writes_.clear();
  return out;
}

absl::StatusOr<std::optional<std::string>> InMemoryStateStore::Get(const std::string& cf,
                                                                   const std::string& key) {
  auto it = rows_.find({cf, key});
  if (it == rows_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

void InMemoryStateStore::Apply(const std::vector<eventstore::ExtraWrite>& writes) {
  for (const auto& w : writes) {
    if (w.value.has_value()) {
      rows_[{w.column_family, w.key}] = *w.value;
    } else {
      rows_.erase({w.column_family, w.key});
    }
  }
}

std::vector<std::pair<std::string, std::string>> InMemoryStateStore::Rows(
    const std::string& cf) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = rows_.lower_bound({cf, ""}); it != rows_.end() && it->first.first == cf; ++it) {
    out.emplace_back(it->first.second, it->second);
  }
  return out;
}

}  // namespace surge::projections
