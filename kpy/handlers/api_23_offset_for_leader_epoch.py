"""OffsetForLeaderEpoch (key 23), versions 0-4.

Consumers (librdkafka, the Java client) call it after a leader change or when resuming with
a known epoch, to check that their position is still on the leader's log: the answer is the
largest epoch <= the requested one and the offset where it ended (the log end offset for
the current epoch), from the partition's leader epoch cache.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.errors import ItemError
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.offset_for_leader_epoch import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
)

EpochEndOffset = OffsetForLeaderEpochResponse.EpochEndOffset


@handles(23, 0, 4)
async def offset_for_leader_epoch(
    ctx: RequestContext, req: OffsetForLeaderEpochRequest
) -> OffsetForLeaderEpochResponse:
    response = OffsetForLeaderEpochResponse()
    for t in req.topics:
        entry = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult(topic=t.topic)
        for p in t.partitions:
            with ItemError() as refused:
                entry.partitions.append(_end_offset(ctx, t.topic, p))
            if refused:
                entry.partitions.append(
                    EpochEndOffset(partition=p.partition, error_code=refused.code)
                )
        response.topics.append(entry)
    return response


def _end_offset(ctx: RequestContext, topic: str, p) -> EpochEndOffset:
    broker = ctx.broker
    log = broker.partition_log(topic, p.partition)
    current = broker.metadata.get(topic).leader_epochs[p.partition]
    if p.current_leader_epoch >= 0 and p.current_leader_epoch != current:
        raise KafkaError(
            ErrorCode.FENCED_LEADER_EPOCH
            if p.current_leader_epoch < current
            else ErrorCode.UNKNOWN_LEADER_EPOCH
        )
    epoch, end_offset = log.end_offset_for_epoch(p.leader_epoch)
    return EpochEndOffset(partition=p.partition, leader_epoch=epoch, end_offset=end_offset)
