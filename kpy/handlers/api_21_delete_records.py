"""DeleteRecords (key 21), versions 0-2: advance a partition's log start offset.

Offset -1 means the high watermark. An offset above the high watermark is
OFFSET_OUT_OF_RANGE. A topic compacted and not deleted (cleanup.policy=compact) is refused
with POLICY_VIOLATION whatever the offset, as Kafka refuses it. The answer's low watermark is
the new log start offset; whole segments below it are removed in the background by retention.
"""

from __future__ import annotations

import trio

from kpy.dispatch import RequestContext, handles
from kpy.handlers.errors import ItemError
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.delete_records import DeleteRecordsRequest, DeleteRecordsResponse

PartitionResult = DeleteRecordsResponse.DeleteRecordsPartitionResult


@handles(21, 0, 2)
async def delete_records(ctx: RequestContext, req: DeleteRecordsRequest) -> DeleteRecordsResponse:
    broker = ctx.broker
    # As Kafka, which keys the request by partition: a topic named twice is answered once, a
    # partition asked twice once, for the last offset asked.
    asked: dict[str, dict[int, int]] = {}
    for t in req.topics:
        offsets = asked.setdefault(t.name, {})
        for p in t.partitions:
            offsets[p.partition_index] = p.offset
    response = DeleteRecordsResponse()
    for name, offsets in asked.items():
        if not offsets:  # no partition, no topic: Kafka's answer is built per partition
            continue
        entry = DeleteRecordsResponse.DeleteRecordsTopicResult(name=name)
        response.topics.append(entry)
        for index, asked_offset in offsets.items():
            with ItemError() as refused:
                log = broker.partition_log(name, index)
                policy = log.config.cleanup_policy
                if "compact" in policy and "delete" not in policy:
                    raise KafkaError(
                        ErrorCode.POLICY_VIOLATION,
                        f"Records of partition {name}-{index} can not be deleted due to the "
                        "configured policy",
                    )
                offset = log.high_watermark if asked_offset == -1 else asked_offset
                if offset < 0 or offset > log.high_watermark:
                    raise KafkaError(
                        ErrorCode.OFFSET_OUT_OF_RANGE,
                        f"Cannot delete records before {offset}: high watermark is {log.high_watermark}",
                    )
                await trio.to_thread.run_sync(log.delete_records_before, offset)
                entry.partitions.append(
                    PartitionResult(partition_index=index, low_watermark=log.log_start_offset)
                )
            if refused:
                entry.partitions.append(
                    PartitionResult(
                        partition_index=index, low_watermark=-1, error_code=refused.code
                    )
                )
    return response
