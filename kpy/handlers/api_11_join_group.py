"""JoinGroup (key 11), versions 0-9 (classic protocol). From v4 a new member first gets
MEMBER_ID_REQUIRED with its id and joins again with it (KIP-394); static members
(group.instance.id, v5+, KIP-345) skip that step and keep their assignment across restarts."""

from __future__ import annotations

from kpy.coordinator.group import member_host
from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.join_group import JoinGroupRequest, JoinGroupResponse


def error_response(req: JoinGroupRequest, version: int, code: int) -> JoinGroupResponse:
    """Kafka's answer to a refused join (no generation, a null protocol name from v7), with
    the member id asked, as Kafka's coordinator answers a refusal by the group's rules; an
    unexpected error is the generic answer, without it."""
    response = req.error_response(version, code)
    if code != ErrorCode.UNKNOWN_SERVER_ERROR:
        response.member_id = req.member_id
    return response


@handles(11, 0, 9, error_response=error_response)
async def join_group(ctx: RequestContext, req: JoinGroupRequest) -> JoinGroupResponse:
    result = await ctx.broker.groups.join(
        req, ctx.api_version, ctx.client_id or "", member_host(ctx.client_host)
    )
    return JoinGroupResponse(
        error_code=result.error,
        generation_id=result.generation_id,
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name
        if ctx.api_version >= 7
        else (result.protocol_name or ""),
        leader=result.leader,
        member_id=result.member_id,
        members=[
            JoinGroupResponse.JoinGroupResponseMember(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                metadata=m.metadata_for(result.protocol_name or ""),
            )
            for m in result.members
        ],
    )
