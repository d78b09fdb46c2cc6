#include "server/internal/campaign_confirmation.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace surge::server::internal {

CampaignConfirmation ConfirmCampaignByItsDecider(domain::QueryHandler& queries, int64_t wait_ms) {
  return [&queries, wait_ms](const domain::CreateCampaignCommand& command,
                             const domain::WriteResult& accepted,
                             std::function<void(absl::StatusOr<domain::WriteResult>)> done) {
    queries.GetDecidedCampaignAsync(
        command.code, wait_ms,
        [command, accepted, wait_ms, done = std::move(done)](absl::StatusOr<v1::Campaign> decided) {
          if (absl::IsNotFound(decided.status())) {
            return done(absl::DeadlineExceededError(
                absl::StrCat("campaign ", command.code,
                             " is in the log but its decider has not decided it "
                             "within ",
                             wait_ms, " ms; GetCampaign shows the campaign in force once it has")));
          }
          if (!decided.ok()) return done(decided.status());
          if (decided->total_quantity() == command.total_quantity &&
              decided->per_user_limit() == command.per_user_limit) {
            return done(accepted);
          }
          done(absl::AlreadyExistsError(
              absl::StrCat("campaign ", command.code, " already exists (total_quantity ",
                           decided->total_quantity(), ", per_user_limit ",
                           decided->per_user_limit(), "): another node created it first")));
        });
  };
}

}  // namespace surge::server::internal
