"""OffsetDelete (key 47), version 0 (KIP-496): remove committed offsets of a group, except
for topics its active consumers subscribe to (GROUP_SUBSCRIBED_TO_TOPIC)."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import KafkaError
from kpy.protocol.messages.offset_delete import OffsetDeleteRequest, OffsetDeleteResponse

R = OffsetDeleteResponse


@handles(47, 0, 0)
async def offset_delete(ctx: RequestContext, req: OffsetDeleteRequest) -> OffsetDeleteResponse:
    wanted = [(t.name, p.partition_index) for t in req.topics for p in t.partitions]
    try:
        errors = ctx.broker.groups.delete_offsets(req.group_id, wanted)
    except KafkaError as exc:
        return R(error_code=exc.code)
    return R(
        topics=[
            R.OffsetDeleteResponseTopic(
                name=t.name,
                partitions=[
                    R.OffsetDeleteResponsePartition(
                        partition_index=p.partition_index,
                        error_code=errors[(t.name, p.partition_index)],
                    )
                    for p in t.partitions
                ],
            )
            for t in req.topics
        ]
    )
