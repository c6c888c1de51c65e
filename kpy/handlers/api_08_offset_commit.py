"""OffsetCommit (key 8), versions 2-9 (Kafka 4 dropped 0-1, KIP-896).

Members commit with their generation; a consumer that only assigns partitions commits with
generation -1 and no member id, which is allowed while the group has no members. Offsets
are in __consumer_offsets before the answer is sent.
"""

from __future__ import annotations

from kpy.coordinator.offsets import CommittedOffset
from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.offset_commit import OffsetCommitRequest, OffsetCommitResponse

R = OffsetCommitResponse


def error_response(req: OffsetCommitRequest, version: int, code: int) -> OffsetCommitResponse:
    return R(
        topics=[
            R.OffsetCommitResponseTopic(
                name=t.name,
                partitions=[
                    R.OffsetCommitResponsePartition(
                        partition_index=p.partition_index, error_code=code
                    )
                    for p in t.partitions
                ],
            )
            for t in req.topics
        ]
    )


@handles(8, 2, 9, error_response=error_response)
async def offset_commit(ctx: RequestContext, req: OffsetCommitRequest) -> OffsetCommitResponse:
    groups = ctx.broker.groups
    groups.check_commit(
        req.group_id, req.generation_id_or_member_epoch, req.member_id, req.group_instance_id
    )
    now_ms = int(ctx.broker.clock() * 1000)
    accepted: dict[tuple[str, int], CommittedOffset] = {}
    response = R()
    for t in req.topics:
        entry = R.OffsetCommitResponseTopic(name=t.name)
        response.topics.append(entry)
        for p in t.partitions:
            error = ErrorCode.NONE
            try:
                groups.check_partition(t.name, p.partition_index, p.committed_metadata)
                accepted[(t.name, p.partition_index)] = CommittedOffset(
                    p.committed_offset, p.committed_leader_epoch, p.committed_metadata, now_ms
                )
            except KafkaError as exc:
                error = exc.code
            entry.partitions.append(
                R.OffsetCommitResponsePartition(partition_index=p.partition_index, error_code=error)
            )
    groups.commit(req.group_id, accepted)
    return response
