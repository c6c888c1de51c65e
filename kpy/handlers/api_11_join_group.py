"""JoinGroup (key 11), versions 0-9 (classic protocol). From v4 a new member first gets
MEMBER_ID_REQUIRED with its id and joins again with it (KIP-394); static members
(group.instance.id, v5+, KIP-345) skip that step and keep their assignment across restarts."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.join_group import JoinGroupRequest, JoinGroupResponse


@handles(11, 0, 9)
async def join_group(ctx: RequestContext, req: JoinGroupRequest) -> JoinGroupResponse:
    try:
        result = await ctx.broker.groups.join(
            req, ctx.api_version, ctx.client_id or "", ctx.client_host
        )
    except KafkaError as exc:
        # protocol_name is nullable from v7, and Kafka answers a refused join with null.
        protocol_name = None if ctx.api_version >= 7 else ""
        # An error from outside the group's rules is Kafka's generic answer, without member.
        member_id = "" if exc.code == ErrorCode.UNKNOWN_SERVER_ERROR else req.member_id
        return JoinGroupResponse(
            error_code=exc.code, member_id=member_id, protocol_name=protocol_name
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
