"""Heartbeat (key 12), versions 0-4: keeps a member's session alive and tells it when the
group is rebalancing (REBALANCE_IN_PROGRESS)."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.messages.heartbeat import HeartbeatRequest, HeartbeatResponse


@handles(12, 0, 4)
async def heartbeat(ctx: RequestContext, req: HeartbeatRequest) -> HeartbeatResponse:
    ctx.broker.groups.heartbeat(req)
    return HeartbeatResponse()
