#include "projections/dead_letters.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "projections/read_models.h"

namespace surge::projections {

void DeadLetters::Register(ProjectionApplier* applier) { Register(applier->topic(), applier); }

void DeadLetters::Register(const std::string& topic, DeadLetterReplayer* replayer) {
  absl::MutexLock lock(&mu_);
  replayers_[topic] = replayer;
}

absl::StatusOr<std::vector<v1::DeadLetter>> DeadLetters::List(const std::string& topic,
                                                              size_t limit) {
  if (limit == 0) limit = 100;
  // Ids start with the DLT topic: "<topic>.dlt/<partition>/<offset>".
  const std::string prefix = topic.empty() ? "" : absl::StrCat(topic, ".dlt/");
  SURGE_ASSIGN_OR_RETURN(auto rows, store_.Scan(kDeadLettersCf, prefix, limit));
  std::vector<v1::DeadLetter> out;
  out.reserve(rows.size());
  for (const auto& [key, value] : rows) {
    v1::DeadLetter& row = out.emplace_back();
    if (!row.ParseFromString(value)) {
      return absl::DataLossError(absl::StrCat("unreadable dead letter ", key));
    }
  }
  return out;
}

absl::StatusOr<ProjectionApplier::ReplayResult> DeadLetters::Replay(const std::string& id) {
  SURGE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_.Get(kDeadLettersCf, id));
  if (!bytes.has_value()) return absl::NotFoundError(absl::StrCat("no dead letter ", id));
  v1::DeadLetter row;
  if (!row.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("unreadable dead letter ", id));
  }
  DeadLetterReplayer* replayer = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = replayers_.find(row.original_topic());
    if (it != replayers_.end()) replayer = it->second;
  }
  if (replayer == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("nothing consumes ", row.original_topic(), " here"));
  }
  return replayer->ReplayDeadLetter(id);
}

}  // namespace surge::projections
