"""DescribeTopicPartitions (key 75), version 0: paged topic and partition metadata (KIP-966).

Topics are answered in name order starting at the cursor; at most
response_partition_limit partitions (1 to 2000) are returned and next_cursor says where to go
on: inside a topic, or at the next topic asked when a topic ended the page (whether that one
exists or not). As Kafka, a cursor whose topic is not asked, or whose partition is negative, is
INVALID_REQUEST and an empty name UNKNOWN_SERVER_ERROR, for every topic asked (no partitions);
an illegal name is INVALID_TOPIC_EXCEPTION for that topic.
A topic's authorized operations are always given (there is no flag to ask for them), as Kafka
without an authorizer answers them: every topic operation, for a topic that does not exist too.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.api_03_metadata import TOPIC_OPERATIONS
from kpy.handlers.errors import code_of
from kpy.metadata import INTERNAL_TOPICS, validate_topic_name
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.describe_topic_partitions import (
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
)

R = DescribeTopicPartitionsResponse
MAX_PARTITIONS = 2000  # Kafka's max.request.partition.size.limit


@handles(75, 0, 0)
async def describe_topic_partitions(
    ctx: RequestContext, req: DescribeTopicPartitionsRequest
) -> DescribeTopicPartitionsResponse:
    broker = ctx.broker
    node = broker.node_id
    start_topic, start_partition = "", 0
    if req.cursor is not None:
        start_topic, start_partition = req.cursor.topic_name, req.cursor.partition_index
    listing = not req.topics
    asked = broker.metadata.topics if listing else {t.name for t in req.topics}
    names = sorted(n for n in asked if n >= start_topic)
    if req.cursor is not None and not listing and start_topic not in names:
        raise KafkaError(ErrorCode.INVALID_REQUEST, "The cursor topic must be asked for")
    if start_partition < 0:
        raise KafkaError(ErrorCode.INVALID_REQUEST, "The cursor partition must be valid")
    if "" in names:  # Kafka's authorizer fails on the empty name
        raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "Empty topic name")
    budget = max(min(req.response_partition_limit, MAX_PARTITIONS), 1)
    response = R()
    for name in names:
        if budget == 0:
            # The previous topic ended the page: go on at this one, whether it exists or not.
            response.next_cursor = R.Cursor(topic_name=name, partition_index=0)
            break
        topic = broker.metadata.get(name)
        if topic is None:
            code = code_of(validate_topic_name, name) or ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            response.topics.append(
                R.DescribeTopicPartitionsResponseTopic(
                    error_code=code,
                    name=name,
                    is_internal=name in INTERNAL_TOPICS,
                    topic_authorized_operations=TOPIC_OPERATIONS,
                )
            )
            continue
        first = start_partition if name == start_topic else 0
        # In Java int arithmetic, as Kafka: a cursor near 2**31 wraps round to a negative end.
        end = min(topic.partitions, (first + budget + 2**31) % 2**32 - 2**31)
        response.topics.append(
            R.DescribeTopicPartitionsResponseTopic(
                name=name,
                topic_id=topic.topic_id,
                is_internal=topic.internal,
                topic_authorized_operations=TOPIC_OPERATIONS,
                partitions=[
                    R.DescribeTopicPartitionsResponsePartition(
                        partition_index=p,
                        leader_id=node,
                        leader_epoch=topic.leader_epochs[p],
                        replica_nodes=[node],
                        isr_nodes=[node],
                        eligible_leader_replicas=[],
                        last_known_elr=[],
                    )
                    for p in range(first, end)
                ],
            )
        )
        if end < topic.partitions:
            response.next_cursor = R.Cursor(topic_name=name, partition_index=end)
            break
        budget -= max(end - first, 0)
    return response
