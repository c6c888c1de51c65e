"""Metadata (key 3), versions 0-12.

Topics by name (v0+) or by id (v12+; v10-11 carry the id field but a request using it, or
a null name, is INVALID_REQUEST, as in Kafka); a null topic list (v1+) or an empty one at v0
means every topic. A request naming any topic id is answered by id alone: its names are
ignored and nothing is created. Missing topics are created when auto.create.topics.enable is
on and the request allows it (v4+ flag; always allowed before v4), like Kafka; the request
that creates a topic is answered UNKNOWN_TOPIC_OR_PARTITION for it, as Kafka 4.4 answers while
its controller makes the topic. A topic asked twice is answered once. This broker is the only
one, the leader and the only replica of every partition, and the controller.

Authorized operations (v8+, asked with include_*_authorized_operations) are reported as
Kafka reports them without an authorizer: every operation that applies to a topic, and to
the cluster (v8-10). Topics answered with UNKNOWN_TOPIC_ID carry none.
"""

from __future__ import annotations

import uuid

from kpy.dispatch import RequestContext, handles
from kpy.handlers.errors import ItemError, code_of
from kpy.metadata import INTERNAL_TOPICS, validate_topic_name
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.metadata import MetadataRequest, MetadataResponse

ZERO_UUID = uuid.UUID(int=0)


def _operations(*codes: int) -> int:
    return sum(1 << code for code in codes)


# Kafka's AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8,
# CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
TOPIC_OPERATIONS = _operations(3, 4, 5, 6, 7, 8, 10, 11)  # 3576, as Kafka 4.4 answers
CLUSTER_OPERATIONS = _operations(5, 7, 8, 9, 10, 11, 12)  # 8096, as Kafka 4.4 answers
GROUP_OPERATIONS = _operations(3, 6, 8, 10, 11)  # 3400, as Kafka 4.4 answers


@handles(3, 0, 12)
async def metadata(ctx: RequestContext, req: MetadataRequest) -> MetadataResponse:
    broker = ctx.broker
    version = ctx.api_version
    host, port = broker.advertised(ctx.listener)
    response = MetadataResponse(
        brokers=[
            MetadataResponse.MetadataResponseBroker(node_id=broker.node_id, host=host, port=port)
        ],
        cluster_id=broker.metadata.cluster_id,
        controller_id=broker.node_id,
    )
    if req.topics is None or (version == 0 and not req.topics):
        names = sorted(broker.metadata.topics)
        response.topics = [topic_entry(broker, name) for name in names]
    else:
        await _requested_topics(ctx, req, response)
    if version >= 8 and req.include_topic_authorized_operations:
        for topic in response.topics:
            if topic.error_code != ErrorCode.UNKNOWN_TOPIC_ID:
                topic.topic_authorized_operations = TOPIC_OPERATIONS
    if 8 <= version <= 10 and req.include_cluster_authorized_operations:
        response.cluster_authorized_operations = CLUSTER_OPERATIONS
    return response


async def _requested_topics(
    ctx: RequestContext, req: MetadataRequest, response: MetadataResponse
) -> None:
    broker = ctx.broker
    version = ctx.api_version
    if version < 12:
        for requested in req.topics:
            if requested.name is None or requested.topic_id != ZERO_UUID:
                raise KafkaError(
                    ErrorCode.INVALID_REQUEST,
                    f"Metadata v{version} takes topic names only (ids from v12)",
                )
    ids = list(dict.fromkeys(t.topic_id for t in req.topics if t.topic_id != ZERO_UUID))
    if ids:
        for topic_id in ids:
            topic = broker.metadata.by_id(topic_id)
            if topic is None:
                response.topics.append(
                    MetadataResponse.MetadataResponseTopic(
                        error_code=ErrorCode.UNKNOWN_TOPIC_ID,
                        name=None,
                        topic_id=topic_id,
                    )
                )
            else:
                response.topics.append(topic_entry(broker, topic.name))
        return
    if any(t.name is None for t in req.topics):
        # Neither a name nor an id: Kafka fails the whole request this way.
        raise KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "a topic has neither a name nor an id")
    allow_create = broker.config.get("auto.create.topics.enable") and (
        version < 4 or req.allow_auto_topic_creation
    )
    for name in dict.fromkeys(t.name for t in req.topics):
        if broker.metadata.get(name) is None:
            if code_of(validate_topic_name, name):
                response.topics.append(error_topic(name, ErrorCode.INVALID_TOPIC_EXCEPTION))
                continue
            if not allow_create or name in INTERNAL_TOPICS:
                response.topics.append(error_topic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
                continue
            with ItemError() as refused:
                await broker.create_topic(name, -1, -1, {})
            if refused and refused.code != ErrorCode.TOPIC_ALREADY_EXISTS:
                response.topics.append(error_topic(name, refused.code))
                continue
            if not refused:
                # Kafka hands the creation to its controller and answers this request before
                # the topic exists; clients ask again. kpy has made it already, but answers alike.
                response.topics.append(error_topic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
                continue
        response.topics.append(topic_entry(broker, name))


def error_topic(name: str, code: int) -> MetadataResponse.MetadataResponseTopic:
    return MetadataResponse.MetadataResponseTopic(error_code=code, name=name, topic_id=ZERO_UUID)


def topic_entry(broker, name: str) -> MetadataResponse.MetadataResponseTopic:
    topic = broker.metadata.get(name)
    node = broker.node_id
    return MetadataResponse.MetadataResponseTopic(
        name=name,
        topic_id=topic.topic_id,
        is_internal=topic.internal,
        partitions=[
            MetadataResponse.MetadataResponsePartition(
                partition_index=p,
                leader_id=node,
                leader_epoch=topic.leader_epochs[p],
                replica_nodes=[node],
                isr_nodes=[node],
            )
            for p in range(topic.partitions)
        ],
    )
