"""SyncGroup (key 14), versions 0-5: the leader hands out assignments, the others wait for
theirs. v5 checks the protocol type and name against the group's (KIP-559)."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import KafkaError
from kpy.protocol.messages.sync_group import SyncGroupRequest, SyncGroupResponse


@handles(14, 0, 5)
async def sync_group(ctx: RequestContext, req: SyncGroupRequest) -> SyncGroupResponse:
    try:
        error, assignment, group = await ctx.broker.groups.sync(req, ctx.api_version)
    except KafkaError as exc:
        return SyncGroupResponse(error_code=exc.code, assignment=b"")
    return SyncGroupResponse(
        error_code=error,
        assignment=assignment,
        protocol_type=group.protocol_type if group else None,
        protocol_name=group.protocol_name if group else None,
    )
