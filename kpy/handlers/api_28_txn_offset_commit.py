"""TxnOffsetCommit (key 28), versions 0-4: offsets committed inside a transaction. They
reach the group only when the transaction commits. v3+ carries the member's generation,
checked like OffsetCommit when given.

Kafka's order: the topics and partitions first (UNKNOWN_TOPIC_OR_PARTITION; an unknown topic
is answered even without partitions, a known one left with no partition to commit is not), then for the rest the group id ('':
INVALID_GROUP_ID), the producer and its transaction (TransactionCoordinator.check_offsets), the
member and generation, and each partition's metadata size. The answer lists the refused
partitions by topic, then merges in the rest as asked (as Kafka's response builder)."""

from __future__ import annotations

from kpy.coordinator.offsets import CommittedOffset
from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.txn_offset_commit import (
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
)

R = TxnOffsetCommitResponse
Answer = list[tuple[str, list[tuple[int, int]]]]


def _response(answer: Answer) -> R:
    return R(
        topics=[
            R.TxnOffsetCommitResponseTopic(
                name=name,
                partitions=[
                    R.TxnOffsetCommitResponsePartition(partition_index=p, error_code=c)
                    for p, c in codes
                ],
            )
            for name, codes in answer
        ]
    )


def _merge(refused: Answer, rest: Answer) -> Answer:
    """``rest`` added to ``refused`` by topic name, unless ``refused`` is empty (Kafka's
    TxnOffsetCommitResponse.Builder.merge)."""
    if not refused:
        return rest
    by_name = dict(refused)
    for name, codes in rest:
        if name in by_name:
            by_name[name].extend(codes)
        else:
            refused.append((name, codes))
            by_name[name] = codes
    return refused


def error_response(req: TxnOffsetCommitRequest, version: int, code: int) -> R:
    return _response(
        [(t.name, [(p.partition_index, code) for p in t.partitions]) for t in req.topics]
    )


@handles(28, 0, 4, error_response=error_response)
async def txn_offset_commit(ctx: RequestContext, req: TxnOffsetCommitRequest) -> R:
    broker = ctx.broker
    refused: dict[str, list[tuple[int, int]]] = {}
    valid = []
    for t in req.topics:
        meta = broker.metadata.get(t.name)
        if meta is None:
            refused.setdefault(t.name, [])  # answered even without partitions
        ps = []
        for p in t.partitions:
            if meta is not None and 0 <= p.partition_index < meta.partitions:
                ps.append(p)
            else:
                refused.setdefault(t.name, []).append(
                    (p.partition_index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
                )
        if ps:
            valid.append((t.name, ps))
    rest: Answer = []
    if valid:
        try:
            if not req.group_id:
                raise KafkaError(ErrorCode.INVALID_GROUP_ID, "group id is empty")
            txn = broker.txns.check_offsets(
                req.transactional_id,
                req.producer_id,
                req.producer_epoch,
                req.group_id,
                ctx.api_version,
            )
            if req.generation_id >= 0 or req.member_id:
                broker.groups.check_commit(
                    req.group_id, req.generation_id, req.member_id, req.group_instance_id
                )
        except KafkaError as exc:
            rest = [(name, [(p.partition_index, exc.code) for p in ps]) for name, ps in valid]
        else:
            now_ms = int(broker.clock() * 1000)
            accepted: dict[tuple[str, int], CommittedOffset] = {}
            for name, ps in valid:
                codes = []
                for p in ps:
                    try:
                        broker.groups.check_partition(name, p.partition_index, p.committed_metadata)
                    except KafkaError as exc:
                        codes.append((p.partition_index, exc.code))
                        continue
                    codes.append((p.partition_index, ErrorCode.NONE))
                    accepted[(name, p.partition_index)] = CommittedOffset(
                        p.committed_offset, p.committed_leader_epoch, p.committed_metadata, now_ms
                    )
                rest.append((name, codes))
            broker.txns.txn_offset_commit(txn, req.group_id, accepted)
    return _response(_merge(list(refused.items()), rest))
