"""DeleteGroups (key 42), versions 0-2: only groups without members can go (NON_EMPTY_GROUP);
their offsets get tombstones in __consumer_offsets. A group named twice is answered once."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.errors import code_of
from kpy.protocol.messages.delete_groups import DeleteGroupsRequest, DeleteGroupsResponse


@handles(42, 0, 2)
async def delete_groups(ctx: RequestContext, req: DeleteGroupsRequest) -> DeleteGroupsResponse:
    response = DeleteGroupsResponse()
    for group_id in dict.fromkeys(req.groups_names):
        error = code_of(ctx.broker.groups.delete_group, group_id)
        response.results.append(
            DeleteGroupsResponse.DeletableGroupResult(group_id=group_id, error_code=error)
        )
    return response
