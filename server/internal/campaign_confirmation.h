// Cluster mode: CreateCampaign answers what the coupon decider decided.
//
// Each node appends CreateCampaign to its own log, so two nodes can accept
// the same code at the same moment; the decider that owns the code's
// partition keeps the first CampaignCreated it sees and ignores the other.
// The hook below (CommandHandler::Options::confirm_campaign) waits until the
// node's read model holds the decided campaign (mirrored from the decider's
// changelog) and then answers:
//   - the log's result when the decided campaign has this command's
//     quantity and per-user limit (this one won, or an identical one did:
//     the campaign in force is the one the caller asked for);
//   - ALREADY_EXISTS when a campaign with other terms won;
//   - DEADLINE_EXCEEDED when no decision is visible within `wait_ms` (the
//     command is in the log and will be decided; GetCampaign shows the
//     outcome, and a retry with the same request_id asks again).
//
// Thread-safety: the hook is called from gRPC and store threads; it only
// registers a wait on the QueryHandler, which must outlive every call.
#ifndef SURGE_SERVER_INTERNAL_CAMPAIGN_CONFIRMATION_H_
#define SURGE_SERVER_INTERNAL_CAMPAIGN_CONFIRMATION_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "domain/command_types.h"
#include "domain/queries.h"

namespace surge::server::internal {

using CampaignConfirmation = std::function<void(
    const domain::CreateCampaignCommand& command, const domain::WriteResult& accepted,
    std::function<void(absl::StatusOr<domain::WriteResult>)> done)>;

CampaignConfirmation ConfirmCampaignByItsDecider(domain::QueryHandler& queries, int64_t wait_ms);

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_CAMPAIGN_CONFIRMATION_H_
