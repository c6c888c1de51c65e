"""OffsetFetch (key 9), versions 1-9 (Kafka 4 dropped v0, KIP-896).

One group (v1-7) or a batch of groups (v8+, KIP-709); a null topic list (v2+) asks for every
committed offset of the group. Partitions without a commit answer offset -1.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.messages.offset_fetch import OffsetFetchRequest, OffsetFetchResponse

R = OffsetFetchResponse


def _lookup(ctx: RequestContext, group_id: str, topics):
    committed = ctx.broker.groups.committed(group_id)
    if topics is None:
        wanted: dict[str, list[int]] = {}
        for t, p in sorted(committed):
            wanted.setdefault(t, []).append(p)
        items = list(wanted.items())
    else:
        items = [(t.name, list(t.partition_indexes)) for t in topics]
    for name, partitions in items:
        yield name, [(p, committed.get((name, p))) for p in partitions]


def _topics(ctx: RequestContext, group_id: str, topics, topic_cls, partition_cls) -> list:
    """Committed offsets of ``topics`` as response structs of the given (version) classes."""
    return [
        topic_cls(
            name=name,
            partitions=[
                partition_cls(
                    partition_index=p,
                    committed_offset=c.offset if c else -1,
                    committed_leader_epoch=c.leader_epoch if c else -1,
                    metadata=(c.metadata or "") if c else "",
                )
                for p, c in parts
            ],
        )
        for name, parts in _lookup(ctx, group_id, topics)
    ]


@handles(9, 1, 9)
async def offset_fetch(ctx: RequestContext, req: OffsetFetchRequest) -> OffsetFetchResponse:
    if ctx.api_version < 8:
        return R(
            topics=_topics(
                ctx,
                req.group_id,
                req.topics,
                R.OffsetFetchResponseTopic,
                R.OffsetFetchResponsePartition,
            )
        )
    response = R()
    for g in req.groups:
        # The group id '' is a group like any other here, as in Kafka.
        group = R.OffsetFetchResponseGroup(
            group_id=g.group_id,
            topics=_topics(
                ctx,
                g.group_id,
                g.topics,
                R.OffsetFetchResponseTopics,
                R.OffsetFetchResponsePartitions,
            ),
        )
        response.groups.append(group)
    return response
