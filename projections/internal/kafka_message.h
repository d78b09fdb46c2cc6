// A consumed librdkafka message as a ConsumedMessage (copies key, value and
// surge's headers). Shared by the projection runner and the cluster
// deciders. Pure function: thread-safe.
#ifndef SURGE_PROJECTIONS_INTERNAL_KAFKA_MESSAGE_H_
#define SURGE_PROJECTIONS_INTERNAL_KAFKA_MESSAGE_H_

#include <librdkafka/rdkafka.h>

#include "projections/consumed_message.h"

namespace surge::projections::internal {

ConsumedMessage ToConsumed(const rd_kafka_message_t* msg);

}  // namespace surge::projections::internal

#endif  // SURGE_PROJECTIONS_INTERNAL_KAFKA_MESSAGE_H_
