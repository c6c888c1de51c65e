"""OffsetCommit (key 8), versions 2-9 (Kafka 4 dropped 0-1, KIP-896).

Members commit with their generation; a consumer that only assigns partitions commits with
generation -1 and no member id, which is allowed while the group has no members. Offsets
are in __consumer_offsets before the answer is sent.

As in Kafka, unknown topics and partitions are answered UNKNOWN_TOPIC_OR_PARTITION first,
whatever the group; the group is checked only when a known partition is left, and its error
goes to those partitions. The group id '' is a group like any other (Kafka keeps it for old
clients). A topic named without partitions is left out when it exists.
"""

from __future__ import annotations

from kpy.coordinator.offsets import CommittedOffset
from kpy.dispatch import RequestContext, handles
from kpy.handlers.errors import code_of
from kpy.handlers.offset_answers import merge_answers
from kpy.protocol.messages.offset_commit import OffsetCommitRequest, OffsetCommitResponse

R = OffsetCommitResponse
_PARTITION = R.OffsetCommitResponsePartition


@handles(8, 2, 9)
async def offset_commit(ctx: RequestContext, req: OffsetCommitRequest) -> OffsetCommitResponse:
    groups = ctx.broker.groups
    refused, known = groups.known_partitions(req.topics)
    if not known:
        return R(topics=merge_answers(refused, [], R.OffsetCommitResponseTopic, _PARTITION))
    group_error = code_of(
        groups.check_commit,
        req.group_id,
        req.generation_id_or_member_epoch,
        req.member_id,
        req.group_instance_id,
        version=ctx.api_version,
    )
    now_ms = int(ctx.broker.clock() * 1000)
    accepted: dict[tuple[str, int], CommittedOffset] = {}
    answered = []
    for name, partitions in known:
        entry = R.OffsetCommitResponseTopic(name=name)
        answered.append(entry)
        for p in partitions:
            error = group_error or code_of(groups.check_metadata, p.committed_metadata)
            if not error:
                accepted[(name, p.partition_index)] = CommittedOffset(
                    p.committed_offset, p.committed_leader_epoch, p.committed_metadata, now_ms
                )
            entry.partitions.append(_PARTITION(partition_index=p.partition_index, error_code=error))
    await groups.commit(req.group_id, accepted)
    return R(topics=merge_answers(refused, answered, R.OffsetCommitResponseTopic, _PARTITION))
