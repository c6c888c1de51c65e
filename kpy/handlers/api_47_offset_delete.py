"""OffsetDelete (key 47), version 0 (KIP-496): remove committed offsets of a group, except
for topics its active consumers subscribe to (GROUP_SUBSCRIBED_TO_TOPIC).

As in Kafka, unknown topics and partitions are answered UNKNOWN_TOPIC_OR_PARTITION first and
the rest goes to the group, whose error (INVALID_GROUP_ID for '', GROUP_ID_NOT_FOUND,
NON_EMPTY_GROUP while members of another protocol type than consumer are in it) replaces the
whole answer. An existing topic named without partitions is left out.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.offset_answers import merge_answers
from kpy.protocol.messages.offset_delete import OffsetDeleteRequest, OffsetDeleteResponse

R = OffsetDeleteResponse


@handles(47, 0, 0)
async def offset_delete(ctx: RequestContext, req: OffsetDeleteRequest) -> OffsetDeleteResponse:
    groups = ctx.broker.groups
    refused, known = groups.known_partitions(req.topics)
    wanted = [(name, p.partition_index) for name, partitions in known for p in partitions]
    errors = groups.delete_offsets(req.group_id, wanted)  # a group's refusal: dispatch's
    answered = [
        R.OffsetDeleteResponseTopic(
            name=name,
            partitions=[
                R.OffsetDeleteResponsePartition(
                    partition_index=p.partition_index,
                    error_code=errors[(name, p.partition_index)],
                )
                for p in partitions
            ],
        )
        for name, partitions in known
    ]
    return R(
        topics=merge_answers(
            refused, answered, R.OffsetDeleteResponseTopic, R.OffsetDeleteResponsePartition
        )
    )
