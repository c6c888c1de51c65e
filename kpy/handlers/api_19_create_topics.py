"""CreateTopics (key 19), versions 2-7 (Kafka 4 dropped 0-1, KIP-896).

A created topic is fully usable when the response is sent: every partition has its log and
this broker leads it, so no LEADER_NOT_AVAILABLE follows. -1 partitions / replication factor
take num.partitions / default.replication.factor at every version: KIP-464 tied the feature to
v4, but Kafka 4.4 reads -1 as the default at v2-3 as well, and kafkajs 2.2.4 sends -1 at v3.
validate_only checks without creating.
v5+ answers with the effective configs of the topic (an empty list for a topic refused).
A timeout of 0 or below is REQUEST_TIMED_OUT for every topic, nothing created (as Kafka's
controller, unless every name is given twice: kpy/handlers/controller.py). An illegal or existing name is refused before the
partitions, replication factor and assignment are looked at.
A name given twice is answered once, with INVALID_REQUEST. As Kafka's controller, a request
that would create more than 10000 partitions in all (or write more than 10000 metadata records:
a record per topic, per partition and per config) is refused whole: every topic is answered
POLICY_VIOLATION, even when only validating.
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.controller import check_deadline
from kpy.handlers.errors import ItemError
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.create_topics import CreateTopicsRequest, CreateTopicsResponse

Result = CreateTopicsResponse.CreatableTopicResult
# Kafka's controller caps the partitions (and the metadata records) of one request.
MAX_PARTITIONS_PER_REQUEST = 10_000
MAX_RECORDS_PER_REQUEST = 10_000


@handles(19, 2, 7)
async def create_topics(ctx: RequestContext, req: CreateTopicsRequest) -> CreateTopicsResponse:
    broker = ctx.broker
    response = CreateTopicsResponse()
    counts: dict[str, int] = {}
    for t in req.topics:
        counts[t.name] = counts.get(t.name, 0) + 1
    unique = [t for t in req.topics if counts[t.name] == 1]
    if unique:
        check_deadline(req.timeout_ms)
    refusal = _too_large(unique, broker.config.get("num.partitions"))
    if refusal is not None:
        for t in req.topics:
            result = Result(name=t.name, error_code=ErrorCode.POLICY_VIOLATION, configs=[])
            result.error_message = refusal
            response.topics.append(result)
        return response
    for t in req.topics:
        if counts[t.name] == 0:
            continue  # a duplicate already answered
        result = Result(name=t.name)
        response.topics.append(result)
        with ItemError() as refused:
            if counts[t.name] > 1:
                counts[t.name] = 0
                raise KafkaError(ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
            broker.metadata.check_new_topic(t.name)
            configs = {c.name: c.value for c in t.configs}
            partitions, replication = t.num_partitions, t.replication_factor
            if t.assignments:
                if partitions != -1 or replication != -1:
                    raise KafkaError(
                        ErrorCode.INVALID_REQUEST,
                        "Both numPartitions or replicationFactor and replicasAssignments were set.",
                    )
                partitions = len(t.assignments)
                replication = len(t.assignments[0].broker_ids)
                for a in t.assignments:
                    if any(b != broker.node_id for b in a.broker_ids) or len(
                        set(a.broker_ids)
                    ) != len(a.broker_ids):
                        raise KafkaError(
                            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                            f"Invalid replica assignment {a.broker_ids} for partition {a.partition_index}",
                        )
            if req.validate_only:
                partitions, overrides = broker.check_topic_request(
                    t.name, partitions, replication, configs
                )
                topic_id = None
            else:
                topic = await broker.create_topic(t.name, partitions, replication, configs)
                overrides, partitions, topic_id = topic.configs, topic.partitions, topic.topic_id
        if refused:
            result.error_code = refused.code
            result.error_message = refused.message
            result.configs = []
            continue
        if topic_id is not None:
            result.topic_id = topic_id
        result.num_partitions = partitions
        result.replication_factor = 1
        result.configs = [
            CreateTopicsResponse.CreatableTopicConfigs(
                name=e.name,
                value=e.value,
                read_only=e.read_only,
                config_source=e.source,
                is_sensitive=e.sensitive,
            )
            for e in broker.config.describe_topic_config(overrides)
        ]
    return response


def _too_large(topics: list[CreateTopicsRequest.CreatableTopic], default: int) -> str | None:
    """Kafka's refusal of a request too large for one controller batch, if this is one."""
    partitions = records = 0
    for t in topics:
        if t.assignments:
            n = len(t.assignments)
        else:
            n = default if t.num_partitions == -1 else max(t.num_partitions, 0)
        partitions += n
        records += 1 + n + len(t.configs)
    if partitions > MAX_PARTITIONS_PER_REQUEST:
        return "Excessively large number of partitions per request."
    if records > MAX_RECORDS_PER_REQUEST:
        return "Unable to perform excessively large batch operation."
    return None
