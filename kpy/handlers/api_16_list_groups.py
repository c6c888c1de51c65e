"""ListGroups (key 16), versions 0-5: every group, with state (v4+, filterable) and type
(v5+, KIP-848: "classic", or "consumer" for groups of the new protocol)."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.messages.list_groups import ListGroupsRequest, ListGroupsResponse


@handles(16, 0, 5)
async def list_groups(ctx: RequestContext, req: ListGroupsRequest) -> ListGroupsResponse:
    states = {s.lower() for s in req.states_filter}
    types = {t.lower() for t in req.types_filter}
    response = ListGroupsResponse()
    for group in ctx.broker.groups.list_groups():
        if states and group.state.lower() not in states:
            continue
        if types and group.group_type not in types:
            continue
        response.groups.append(
            ListGroupsResponse.ListedGroup(
                group_id=group.group_id,
                protocol_type=group.protocol_type,
                group_state=group.state,
                group_type=group.group_type,
            )
        )
    return response
