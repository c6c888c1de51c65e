"""DescribeGroups (key 15), versions 0-5: state, protocol and members (client id, host,
metadata, assignment) of each group; an unknown group (the group id '' too) is reported as
Dead. Authorized operations (v3+, when asked) are every operation that applies to a group, as
Kafka reports them without an authorizer, for each group answered without error."""

from __future__ import annotations

from kpy.coordinator.group import STABLE
from kpy.dispatch import RequestContext, handles
from kpy.handlers.api_03_metadata import GROUP_OPERATIONS
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.describe_groups import DescribeGroupsRequest, DescribeGroupsResponse

R = DescribeGroupsResponse


@handles(15, 0, 5)
async def describe_groups(
    ctx: RequestContext, req: DescribeGroupsRequest
) -> DescribeGroupsResponse:
    response = R()
    for group_id in req.groups:
        group = ctx.broker.groups.describe_group(group_id)
        if group is None:
            # Kafka answers a consumer (KIP-848) group as Dead below v6 (v6 has an error).
            response.groups.append(R.DescribedGroup(group_id=group_id, group_state="Dead"))
            continue
        protocol = group.protocol_name or ""
        response.groups.append(
            R.DescribedGroup(
                group_id=group_id,
                group_state=group.state,
                protocol_type=group.protocol_type or "",
                protocol_data=protocol if group.state == STABLE else "",
                members=[
                    R.DescribedGroupMember(
                        member_id=m.member_id,
                        group_instance_id=m.group_instance_id,
                        client_id=m.client_id,
                        client_host=m.client_host,
                        member_metadata=m.metadata_for(protocol),
                        member_assignment=m.assignment,
                    )
                    for m in group.members.values()
                ],
            )
        )
    if ctx.api_version >= 3 and req.include_authorized_operations:
        for described in response.groups:
            if described.error_code == ErrorCode.NONE:
                described.authorized_operations = GROUP_OPERATIONS
    return response
