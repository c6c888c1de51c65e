"""SyncGroup (key 14), versions 0-5: the leader hands out assignments, the others wait for
theirs. v5 requires the protocol type and name and checks them against the group's (KIP-559)."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.sync_group import SyncGroupRequest, SyncGroupResponse


@handles(14, 0, 5)
async def sync_group(ctx: RequestContext, req: SyncGroupRequest) -> SyncGroupResponse:
    if ctx.api_version >= 5 and (req.protocol_type is None or req.protocol_name is None):
        # Kafka refuses this before it looks at the group.
        raise KafkaError(
            ErrorCode.INCONSISTENT_GROUP_PROTOCOL, "SyncGroup v5 needs a protocol type and name"
        )
    error, assignment, group = await ctx.broker.groups.sync(req, ctx.api_version)
    return SyncGroupResponse(
        error_code=error,
        assignment=assignment,
        protocol_type=group.protocol_type if group else None,
        protocol_name=group.protocol_name if group else None,
    )
