"""LeaveGroup (key 13), versions 0-5: one member (v0-2) or a batch of members identified by
member id or group.instance.id (v3+, KIP-345); the group rebalances at once. The group id '' is INVALID_GROUP_ID."""

from __future__ import annotations

from kpy.coordinator.groups import require_group_id
from kpy.dispatch import RequestContext, handles
from kpy.handlers.errors import code_of
from kpy.protocol.messages.leave_group import LeaveGroupRequest, LeaveGroupResponse


@handles(13, 0, 5)
async def leave_group(ctx: RequestContext, req: LeaveGroupRequest) -> LeaveGroupResponse:
    groups = ctx.broker.groups
    if ctx.api_version < 3:
        groups.leave(req.group_id, req.member_id, None)
        return LeaveGroupResponse()
    require_group_id(req.group_id)
    # A group that does not exist knows none of the members: each is UNKNOWN_MEMBER_ID.
    response = LeaveGroupResponse()
    for m in req.members:
        error = code_of(groups.leave, req.group_id, m.member_id, m.group_instance_id)
        response.members.append(
            LeaveGroupResponse.MemberResponse(
                member_id=m.member_id, group_instance_id=m.group_instance_id, error_code=error
            )
        )
    return response
