"""DescribeProducers (key 61), version 0: the active producers of each partition (KIP-664).
An illegal topic name is INVALID_TOPIC_EXCEPTION, as in Kafka."""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.errors import ItemError
from kpy.metadata import validate_topic_name
from kpy.protocol.messages.describe_producers import (
    DescribeProducersRequest,
    DescribeProducersResponse,
)

R = DescribeProducersResponse


@handles(61, 0, 0)
async def describe_producers(
    ctx: RequestContext, req: DescribeProducersRequest
) -> DescribeProducersResponse:
    broker = ctx.broker
    response = R()
    for t in req.topics:
        entry = R.TopicResponse(name=t.name)
        response.topics.append(entry)
        for p in t.partition_indexes:
            part = R.PartitionResponse(partition_index=p)
            entry.partitions.append(part)
            with ItemError() as failed:
                validate_topic_name(t.name)
                log = broker.partition_log(t.name, p)
            if failed:
                part.error_code, part.error_message = failed.code, failed.message
                continue
            for s in log.active_producers():
                part.active_producers.append(
                    R.ProducerState(
                        producer_id=s.producer_id,
                        producer_epoch=s.producer_epoch,
                        last_sequence=s.last_sequence,
                        last_timestamp=s.last_timestamp,
                        coordinator_epoch=s.coordinator_epoch,
                        current_txn_start_offset=s.current_txn_start_offset,
                    )
                )
    return response
