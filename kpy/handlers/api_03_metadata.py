"""Metadata (key 3), versions 0-12.

Topics by name (v0+) or by id (v10+); a null topic list (v1+) or an empty one at v0 means
every topic. Missing topics are created when auto.create.topics.enable is on and the request
allows it (v4+ flag; always allowed before v4), like Kafka. This broker is the only one, the
leader and the only replica of every partition, and the controller.
"""

from __future__ import annotations

import uuid

from kpy.dispatch import RequestContext, handles
from kpy.metadata import INTERNAL_TOPICS, validate_topic_name
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.metadata import MetadataRequest, MetadataResponse

ZERO_UUID = uuid.UUID(int=0)


@handles(3, 0, 12)
async def metadata(ctx: RequestContext, req: MetadataRequest) -> MetadataResponse:
    broker = ctx.broker
    host, port = broker.advertised(ctx.listener)
    response = MetadataResponse(
        brokers=[
            MetadataResponse.MetadataResponseBroker(node_id=broker.node_id, host=host, port=port)
        ],
        cluster_id=broker.metadata.cluster_id,
        controller_id=broker.node_id,
    )
    version = ctx.api_version
    if req.topics is None or (version == 0 and not req.topics):
        names = sorted(broker.metadata.topics)
        response.topics = [topic_entry(broker, name) for name in names]
        return response
    allow_create = broker.config.get("auto.create.topics.enable") and (
        version < 4 or req.allow_auto_topic_creation
    )
    for requested in req.topics:
        if requested.name is None:
            topic = broker.metadata.by_id(requested.topic_id)
            if topic is None:
                response.topics.append(
                    MetadataResponse.MetadataResponseTopic(
                        error_code=ErrorCode.UNKNOWN_TOPIC_ID,
                        name=None,
                        topic_id=requested.topic_id,
                    )
                )
            else:
                response.topics.append(topic_entry(broker, topic.name))
            continue
        name = requested.name
        if broker.metadata.get(name) is None:
            try:
                validate_topic_name(name)
            except KafkaError:
                response.topics.append(error_topic(name, ErrorCode.INVALID_TOPIC_EXCEPTION))
                continue
            if not allow_create or name in INTERNAL_TOPICS:
                response.topics.append(error_topic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
                continue
            try:
                await broker.create_topic(name, -1, -1, {})
            except KafkaError as exc:
                if exc.code != ErrorCode.TOPIC_ALREADY_EXISTS:
                    response.topics.append(error_topic(name, exc.code))
                    continue
        response.topics.append(topic_entry(broker, name))
    return response


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
