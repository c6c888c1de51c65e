"""TxnOffsetCommit (key 28), versions 0-4: offsets committed inside a transaction. They
reach the group only when the transaction commits. v3+ carries the member's generation,
checked like OffsetCommit when given.

Kafka's order: the topics and partitions first (UNKNOWN_TOPIC_OR_PARTITION; an unknown topic
is answered even without partitions, a known one left with no partition to commit is not),
then for the rest the group id ('': INVALID_GROUP_ID), the producer and its transaction
(TransactionCoordinator.check_offsets), the member and generation, and each partition's
metadata size. The answer lists the refused partitions by topic, then merges in the rest as
asked (offset_answers.merge_answers, as OffsetCommit's)."""

from __future__ import annotations

from kpy.coordinator.offsets import CommittedOffset
from kpy.dispatch import RequestContext, handles
from kpy.handlers.errors import ItemError, code_of
from kpy.handlers.offset_answers import merge_answers
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.txn_offset_commit import (
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
)

R = TxnOffsetCommitResponse
_TOPIC = R.TxnOffsetCommitResponseTopic
_PARTITION = R.TxnOffsetCommitResponsePartition


def _topic(name: str, codes: list[tuple[int, int]]) -> _TOPIC:
    return _TOPIC(
        name=name,
        partitions=[_PARTITION(partition_index=p, error_code=c) for p, c in codes],
    )


@handles(28, 0, 4)
async def txn_offset_commit(ctx: RequestContext, req: TxnOffsetCommitRequest) -> R:
    broker = ctx.broker
    refused, known = broker.groups.known_partitions(req.topics)
    answered: list[_TOPIC] = []
    if known:
        with ItemError() as failed:
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
        if failed:
            answered = [
                _topic(name, [(p.partition_index, failed.code) for p in ps]) for name, ps in known
            ]
        else:
            now_ms = int(broker.clock() * 1000)
            accepted: dict[tuple[str, int], CommittedOffset] = {}
            for name, ps in known:
                codes = []
                for p in ps:
                    code = code_of(
                        broker.groups.check_partition, name, p.partition_index, p.committed_metadata
                    )
                    codes.append((p.partition_index, code))
                    if not code:
                        accepted[(name, p.partition_index)] = CommittedOffset(
                            p.committed_offset,
                            p.committed_leader_epoch,
                            p.committed_metadata,
                            now_ms,
                        )
                answered.append(_topic(name, codes))
            broker.txns.txn_offset_commit(txn, req.group_id, accepted)
    return R(topics=merge_answers(refused, answered, _TOPIC, _PARTITION))
