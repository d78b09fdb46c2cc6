// surge-cli cluster  (surge.v1.ClusterService/DescribeCluster)
#include <algorithm>
#include <map>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "clients/cli/command.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::cli {
namespace {

// The members the answering node hears from, then one row per partition
// with its owner per decider: the group's view as its members report it.
int Cluster(const ParsedArgs&, CommandEnv& env) {
  auto stub = v1::ClusterService::NewStub(env.connection.channel());
  auto ctx = env.connection.NewContext(absl::ZeroDuration());
  v1::DescribeClusterResponse resp;
  grpc::Status status = stub->DescribeCluster(ctx.get(), v1::DescribeClusterRequest(), &resp);
  if (!status.ok()) return RpcError(env, status);
  if (env.printer.json()) {
    env.printer.PrintMessage(resp);
    return kExitOk;
  }
  std::ostream& out = env.printer.out();
  out << "answered by: " << resp.node_id()
      << (resp.cluster_mode() ? " (cluster mode)" : " (single node: it decides everything)")
      << "\n\n";
  const int64_t now = absl::ToUnixMillis(absl::Now());
  out << absl::StrFormat("%-16s %-22s %-6s %s\n", "NODE", "GRPC ADDR", "STATE", "LAST SEEN");
  for (const v1::ClusterMember& m : resp.members()) {
    out << absl::StrFormat("%-16s %-22s %-6s %.1f s ago\n", m.node_id(), m.grpc_addr(),
                           m.alive() ? "alive" : "gone",
                           static_cast<double>(now - m.last_seen_unix_ms()) / 1000.0);
  }
  if (resp.partitions_size() == 0) return kExitOk;
  // decider -> partition -> "owner (epoch)"
  std::map<std::string, std::map<int32_t, std::string>> owners;
  int32_t partitions = 0;
  int unowned = 0;
  for (const v1::PartitionOwner& p : resp.partitions()) {
    owners[p.decider()][p.partition()] =
        p.owner_node_id().empty() ? "-" : absl::StrFormat("%s/e%d", p.owner_node_id(), p.epoch());
    partitions = std::max(partitions, p.partition() + 1);
    if (p.owner_node_id().empty()) ++unowned;
  }
  out << "\n" << absl::StrFormat("%-10s", "PARTITION");
  for (const auto& [decider, unused] : owners) out << absl::StrFormat(" %-16s", decider);
  out << "\n";
  for (int32_t p = 0; p < partitions; ++p) {
    out << absl::StrFormat("%-10d", p);
    for (const auto& [decider, by_partition] : owners) {
      auto it = by_partition.find(p);
      out << absl::StrFormat(" %-16s", it == by_partition.end() ? "?" : it->second);
    }
    out << "\n";
  }
  out << "\n(owner/eN: the node deciding the partition and its changelog epoch; "
      << unowned << " partition(s) without a live owner)\n";
  return kExitOk;
}

}  // namespace

std::vector<Command> ClusterCommands() {
  return {
      {{"cluster",
        "",
        "Lists the cluster's nodes and which node decides each partition (from any node).",
        {},
        0,
        0},
       Cluster},
  };
}

}  // namespace surge::cli
