"""ListOffsets (key 2), versions 1-10 (Kafka 4 dropped v0, KIP-896).

Special timestamps: -1 latest (the high watermark, or the last stable offset under
read_committed), -2 earliest (log start offset), -3 max timestamp (v7+, KIP-734),
-4 earliest local (v8+, same as earliest without tiered storage), -5 latest tiered (v9+,
nothing is tiered so no offset). Any other timestamp finds the first offset whose record
timestamp is at or after it, through the time index.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.list_offsets import ListOffsetsRequest, ListOffsetsResponse

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED = -1, -2, -3, -4, -5
PartitionResponse = ListOffsetsResponse.ListOffsetsPartitionResponse


def error_response(req: ListOffsetsRequest, version: int, code: int) -> ListOffsetsResponse:
    return ListOffsetsResponse(
        topics=[
            ListOffsetsResponse.ListOffsetsTopicResponse(
                name=t.name,
                partitions=[
                    PartitionResponse(partition_index=p.partition_index, error_code=code)
                    for p in t.partitions
                ],
            )
            for t in req.topics
        ]
    )


@handles(2, 1, 10, error_response=error_response)
async def list_offsets(ctx: RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse:
    response = ListOffsetsResponse()
    for t in req.topics:
        entry = ListOffsetsResponse.ListOffsetsTopicResponse(name=t.name)
        seen: set[int] = set()
        for p in t.partitions:
            if p.partition_index in seen:
                entry.partitions.append(
                    PartitionResponse(
                        partition_index=p.partition_index, error_code=ErrorCode.INVALID_REQUEST
                    )
                )
                continue
            seen.add(p.partition_index)
            try:
                entry.partitions.append(_lookup(ctx, t.name, p, req.isolation_level))
            except KafkaError as exc:
                entry.partitions.append(
                    PartitionResponse(partition_index=p.partition_index, error_code=exc.code)
                )
        if entry.partitions:  # as Kafka, whose answer is built per partition
            response.topics.append(entry)
    return response


def _lookup(ctx: RequestContext, topic: str, p, isolation_level: int) -> PartitionResponse:
    broker = ctx.broker
    log = broker.partition_log(topic, p.partition_index)
    epoch = broker.metadata.get(topic).leader_epochs[p.partition_index]
    if p.current_leader_epoch >= 0 and p.current_leader_epoch != epoch:
        raise KafkaError(
            ErrorCode.FENCED_LEADER_EPOCH
            if p.current_leader_epoch < epoch
            else ErrorCode.UNKNOWN_LEADER_EPOCH
        )
    ts = p.timestamp
    found: tuple[int, int] | None
    if ts == LATEST:
        offset = log.last_stable_offset if isolation_level == 1 else log.high_watermark
        found = (offset, -1)
    elif ts in (EARLIEST, EARLIEST_LOCAL):
        found = (log.log_start_offset, -1)
    elif ts == LATEST_TIERED:
        found = None
    elif ts == MAX_TIMESTAMP:
        found = log.max_timestamp_entry()
    elif ts < 0:
        raise KafkaError(ErrorCode.INVALID_REQUEST, f"Unknown special timestamp {ts}")
    else:
        found = log.offset_for_timestamp(ts)
    if found is None:
        return PartitionResponse(partition_index=p.partition_index, offset=-1, timestamp=-1)
    offset, timestamp = found
    return PartitionResponse(
        partition_index=p.partition_index,
        offset=offset,
        timestamp=timestamp,
        leader_epoch=log.epoch_for_offset(offset) if offset >= 0 else -1,
    )
