"""DeleteTopics (key 20), versions 1-6 (Kafka 4 dropped v0, KIP-896).

Topics by name (v1-5) or by name or id (v6+). The partition directories, and every group's
committed offsets of the topic (tombstones in __consumer_offsets, as Kafka writes), are removed
before the response is sent, so a topic created again under the name starts with no offsets.
Internal topics (__consumer_offsets, __transaction_state) are refused with INVALID_REQUEST.
"""

from __future__ import annotations

import uuid

from kpy.dispatch import RequestContext, handles
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.delete_topics import DeleteTopicsRequest, DeleteTopicsResponse

Result = DeleteTopicsResponse.DeletableTopicResult
ZERO_UUID = uuid.UUID(int=0)


@handles(20, 1, 6)
async def delete_topics(ctx: RequestContext, req: DeleteTopicsRequest) -> DeleteTopicsResponse:
    broker = ctx.broker
    response = DeleteTopicsResponse()
    if ctx.api_version >= 6:
        wanted = [(t.name, t.topic_id) for t in req.topics]
    else:
        wanted = [(name, ZERO_UUID) for name in req.topic_names]
    for name, topic_id in wanted:
        result = Result(name=name, topic_id=topic_id)
        response.responses.append(result)
        try:
            if not broker.config.get("delete.topic.enable"):
                raise KafkaError(ErrorCode.TOPIC_DELETION_DISABLED, "Topic deletion is disabled.")
            if name is None:
                topic = broker.metadata.by_id(topic_id)
                if topic is None:
                    raise KafkaError(
                        ErrorCode.UNKNOWN_TOPIC_ID, f"Topic id {topic_id} does not exist"
                    )
                name = topic.name
                result.name = name
            topic = broker.metadata.get(name)
            if topic is None:
                raise KafkaError(
                    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {name} does not exist"
                )
            if topic.internal:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Cannot delete internal topic {name}")
            result.topic_id = topic.topic_id
            await broker.delete_topic(name)
        except KafkaError as exc:
            result.error_code = exc.code
            result.error_message = exc.message
    return response
