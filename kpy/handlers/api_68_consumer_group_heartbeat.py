"""ConsumerGroupHeartbeat (key 68), versions 0-1 (KIP-848): joins, heartbeats and leaves a
consumer group of the new protocol; the answer carries the member epoch and, when it
changed, the member's assignment. v1 adds regex subscriptions and client-chosen member ids.
A request whose fields do not fit its member epoch is INVALID_REQUEST before anything changes;
only epoch 0 creates a group (past it, a missing group is GROUP_ID_NOT_FOUND); a classic group
id with members answers GROUP_ID_NOT_FOUND, as Kafka does. A leave is answered without a
heartbeat interval; errors (from dispatch) carry neither member id nor interval."""

from __future__ import annotations

from kpy.coordinator.group import member_host
from kpy.dispatch import RequestContext, handles
from kpy.protocol.messages.consumer_group_heartbeat import (
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
)

R = ConsumerGroupHeartbeatResponse


# The pinned schema still marks v1 (KIP-1082 client-chosen member ids, regex subscription)
# unstable, but Kafka 4.0 ships it as stable and librdkafka 2.16 will not use the consumer
# protocol without it; the generated codec covers v1, so it is advertised.
@handles(68, 0, 1, unstable_ok=True)
async def consumer_group_heartbeat(
    ctx: RequestContext, req: ConsumerGroupHeartbeatRequest
) -> ConsumerGroupHeartbeatResponse:
    groups = ctx.broker.groups
    member_id, epoch, assignment = await groups.consumer_heartbeat(
        req, ctx.client_id or "", member_host(ctx.client_host), ctx.api_version
    )
    # A member that left is given no heartbeat interval, as in Kafka.
    response = R(
        member_id=member_id,
        member_epoch=epoch,
        heartbeat_interval_ms=groups.consumer_heartbeat_interval_ms if epoch >= 0 else 0,
    )
    if assignment is not None:
        response.assignment = R.Assignment(
            topic_partitions=[R.TopicPartitions(topic_id=t, partitions=ps) for t, ps in assignment]
        )
    return response
