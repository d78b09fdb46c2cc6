// Reads the projections' applied-position checkpoints
// ("applied/<projection>/<topic>/<partition>" -> 8-byte big-endian, see
// projections/read_models.h) into the lowest applied position per
// (topic, partition): the relay must wait for the slowest projection.
//
// A projection that has a checkpoint for any partition of a topic consumes
// that topic, so its missing partitions count as 0 (nothing applied yet).
// Topics no projection has checkpointed are 0 everywhere.
//
// Pure function of its input: thread-safe.
#ifndef SURGE_KAFKA_INTERNAL_APPLIED_POSITIONS_H_
#define SURGE_KAFKA_INTERNAL_APPLIED_POSITIONS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace surge::kafka::internal {

// Slot of (topic index in `topics`, partition) = topic_index * partitions + partition.
// Returns one applied position per slot. Malformed keys and keys of other
// topics or out-of-range partitions are ignored.
std::vector<uint64_t> LowestAppliedPositions(
    const std::vector<std::pair<std::string, std::string>>& checkpoints,
    const std::vector<std::string>& topics, int partitions);

}  // namespace surge::kafka::internal

#endif  // SURGE_KAFKA_INTERNAL_APPLIED_POSITIONS_H_
