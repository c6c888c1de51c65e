"""ListOffsets (key 2), versions 1-10 (Kafka 4 dropped v0, KIP-896).

Special timestamps: -1 latest (the high watermark, or the last stable offset under
read_committed), -2 earliest (log start offset), -3 max timestamp (v7+, KIP-734),
-4 earliest local (v8+, same as earliest without tiered storage), -5 latest tiered (v9+,
nothing is tiered so no offset). Any other timestamp finds the first offset whose record
timestamp is at or after it, through the time index.

As Kafka: an isolation level other than 0/1 fails every partition (UNKNOWN_SERVER_ERROR, as
Kafka's parse of it throws); a special timestamp the version does not know is
UNSUPPORTED_VERSION for that partition; a topic named twice is answered once, and a partition
asked twice once, INVALID_REQUEST.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.errors import ItemError
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.list_offsets import ListOffsetsRequest, ListOffsetsResponse

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED = -1, -2, -3, -4, -5
# The lowest special timestamp each version knows (v1-6 know -1 and -2).
LOWEST_SPECIAL = {7: MAX_TIMESTAMP, 8: EARLIEST_LOCAL}
PartitionResponse = ListOffsetsResponse.ListOffsetsPartitionResponse


@handles(2, 1, 10)
async def list_offsets(ctx: RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse:
    if req.isolation_level not in (0, 1):
        raise KafkaError(
            ErrorCode.UNKNOWN_SERVER_ERROR, f"Unknown isolation level {req.isolation_level}"
        )
    version = ctx.api_version
    lowest = EARLIEST if version < 7 else LOWEST_SPECIAL.get(version, LATEST_TIERED)
    # Kafka keys its answer by partition: a topic named twice is answered once.
    asked: dict[str, list] = {}
    for t in req.topics:
        asked.setdefault(t.name, []).extend(t.partitions)
    response = ListOffsetsResponse()
    for name, partitions in asked.items():
        entry = ListOffsetsResponse.ListOffsetsTopicResponse(name=name)
        indexes = [p.partition_index for p in partitions]
        twice = {i for i in indexes if indexes.count(i) > 1}
        seen: set[int] = set()
        for p in partitions:
            index = p.partition_index
            if index in seen:
                continue
            seen.add(index)
            if index in twice:
                entry.partitions.append(
                    PartitionResponse(partition_index=index, error_code=ErrorCode.INVALID_REQUEST)
                )
                continue
            with ItemError() as refused:
                if p.timestamp < lowest:
                    raise KafkaError(
                        ErrorCode.UNSUPPORTED_VERSION,
                        f"Timestamp {p.timestamp} is not supported by ListOffsets v{version}",
                    )
                entry.partitions.append(_lookup(ctx, name, p, req.isolation_level))
            if refused:
                entry.partitions.append(
                    PartitionResponse(partition_index=index, error_code=refused.code)
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
