"""DescribeTopicPartitions (key 75), version 0: paged topic and partition metadata (KIP-966).

Topics are answered in name order starting at the cursor; at most
response_partition_limit partitions are returned and next_cursor says where to go on.
A topic's authorized operations are always given (there is no flag to ask for them), as Kafka
without an authorizer answers them: every topic operation, for a topic that does not exist too.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.api_03_metadata import TOPIC_OPERATIONS
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.describe_topic_partitions import (
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
)

R = DescribeTopicPartitionsResponse


@handles(75, 0, 0)
async def describe_topic_partitions(
    ctx: RequestContext, req: DescribeTopicPartitionsRequest
) -> DescribeTopicPartitionsResponse:
    broker = ctx.broker
    node = broker.node_id
    names = sorted({t.name for t in req.topics}) if req.topics else sorted(broker.metadata.topics)
    start_topic, start_partition = "", 0
    if req.cursor is not None:
        start_topic, start_partition = req.cursor.topic_name, req.cursor.partition_index
    budget = max(req.response_partition_limit, 1)
    response = R()
    for name in names:
        if name < start_topic:
            continue
        topic = broker.metadata.get(name)
        if topic is None:
            response.topics.append(
                R.DescribeTopicPartitionsResponseTopic(
                    error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                    name=name,
                    topic_authorized_operations=TOPIC_OPERATIONS,
                )
            )
            continue
        first = start_partition if name == start_topic else 0
        entry = R.DescribeTopicPartitionsResponseTopic(
            name=name,
            topic_id=topic.topic_id,
            is_internal=topic.internal,
            topic_authorized_operations=TOPIC_OPERATIONS,
        )
        response.topics.append(entry)
        for p in range(first, topic.partitions):
            if budget == 0:
                response.next_cursor = R.Cursor(topic_name=name, partition_index=p)
                return response
            entry.partitions.append(
                R.DescribeTopicPartitionsResponsePartition(
                    partition_index=p,
                    leader_id=node,
                    leader_epoch=topic.leader_epochs[p],
                    replica_nodes=[node],
                    isr_nodes=[node],
                    eligible_leader_replicas=[],
                    last_known_elr=[],
                )
            )
            budget -= 1
    return response
