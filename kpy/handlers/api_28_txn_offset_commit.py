"""TxnOffsetCommit (key 28), versions 0-4: offsets committed inside a transaction. They
reach the group only when the transaction commits. v3+ carries the member's generation,
checked like OffsetCommit when given; v3+ knows PRODUCER_FENCED."""

from __future__ import annotations

from kpy.coordinator.offsets import CommittedOffset
from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.txn_offset_commit import (
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
)

R = TxnOffsetCommitResponse


def _response(req: TxnOffsetCommitRequest, codes: dict[tuple[str, int], int]) -> R:
    return R(
        topics=[
            R.TxnOffsetCommitResponseTopic(
                name=t.name,
                partitions=[
                    R.TxnOffsetCommitResponsePartition(
                        partition_index=p.partition_index,
                        error_code=codes[(t.name, p.partition_index)],
                    )
                    for p in t.partitions
                ],
            )
            for t in req.topics
        ]
    )


def error_response(req: TxnOffsetCommitRequest, version: int, code: int) -> R:
    return _response(
        req, {(t.name, p.partition_index): code for t in req.topics for p in t.partitions}
    )


@handles(28, 0, 4, error_response=error_response)
async def txn_offset_commit(ctx: RequestContext, req: TxnOffsetCommitRequest) -> R:
    broker = ctx.broker
    if req.generation_id >= 0 or req.member_id:
        broker.groups.check_commit(
            req.group_id, req.generation_id, req.member_id, req.group_instance_id
        )
    now_ms = int(broker.clock() * 1000)
    codes: dict[tuple[str, int], int] = {}
    accepted: dict[tuple[str, int], CommittedOffset] = {}
    for t in req.topics:
        for p in t.partitions:
            tp = (t.name, p.partition_index)
            try:
                broker.groups.check_partition(t.name, p.partition_index, p.committed_metadata)
            except KafkaError as exc:
                codes[tp] = exc.code
                continue
            codes[tp] = ErrorCode.NONE
            accepted[tp] = CommittedOffset(
                p.committed_offset, p.committed_leader_epoch, p.committed_metadata, now_ms
            )
    broker.txns.txn_offset_commit(
        req.transactional_id,
        req.producer_id,
        req.producer_epoch,
        req.group_id,
        accepted,
        ctx.api_version,
    )
    return _response(req, codes)
