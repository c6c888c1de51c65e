"""DeleteRecords (key 21), versions 0-2: advance a partition's log start offset.

Offset -1 means the high watermark. An offset above the high watermark is
OFFSET_OUT_OF_RANGE. The answer's low watermark is the new log start offset; whole segments
below it are removed in the background by retention.
"""

from __future__ import annotations

import trio

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.delete_records import DeleteRecordsRequest, DeleteRecordsResponse

PartitionResult = DeleteRecordsResponse.DeleteRecordsPartitionResult


@handles(21, 0, 2)
async def delete_records(ctx: RequestContext, req: DeleteRecordsRequest) -> DeleteRecordsResponse:
    broker = ctx.broker
    response = DeleteRecordsResponse()
    for t in req.topics:
        entry = DeleteRecordsResponse.DeleteRecordsTopicResult(name=t.name)
        if t.partitions:  # as Kafka, whose answer is built per partition: no partition, no topic
            response.topics.append(entry)
        for p in t.partitions:
            try:
                log = broker.partition_log(t.name, p.partition_index)
                offset = log.high_watermark if p.offset == -1 else p.offset
                if offset < 0 or offset > log.high_watermark:
                    raise KafkaError(
                        ErrorCode.OFFSET_OUT_OF_RANGE,
                        f"Cannot delete records before {offset}: high watermark is {log.high_watermark}",
                    )
                await trio.to_thread.run_sync(log.delete_records_before, offset)
                entry.partitions.append(
                    PartitionResult(
                        partition_index=p.partition_index, low_watermark=log.log_start_offset
                    )
                )
            except KafkaError as exc:
                entry.partitions.append(
                    PartitionResult(
                        partition_index=p.partition_index, low_watermark=-1, error_code=exc.code
                    )
                )
    return response
