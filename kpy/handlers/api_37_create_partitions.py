"""CreatePartitions (key 37), versions 0-3: grow a topic's partition count.

Kafka never shrinks a topic: a count at or below the current one is INVALID_PARTITIONS.
New partitions are writable when the response is sent. A topic named twice is answered once,
with INVALID_REQUEST. As Kafka's controller, a request adding more than 10000 partitions in
all is refused whole: every topic is answered POLICY_VIOLATION, even when only validating.
A timeout of 0 or below is REQUEST_TIMED_OUT for every topic as asked, nothing added (as
Kafka's controller, unless every name is given twice: kpy/handlers/controller.py).
"""

from __future__ import annotations

from kpy.dispatch import RequestContext, handles
from kpy.handlers.controller import check_deadline
from kpy.handlers.errors import ItemError
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.create_partitions import (
    CreatePartitionsRequest,
    CreatePartitionsResponse,
)

MAX_NEW_PARTITIONS_PER_REQUEST = 10_000  # Kafka's controller batch limit
Result = CreatePartitionsResponse.CreatePartitionsTopicResult


@handles(37, 0, 3)
async def create_partitions(
    ctx: RequestContext, req: CreatePartitionsRequest
) -> CreatePartitionsResponse:
    broker = ctx.broker
    response = CreatePartitionsResponse()
    names = [t.name for t in req.topics]
    if any(names.count(n) == 1 for n in names):
        check_deadline(req.timeout_ms)
    added = 0
    for t in req.topics:
        topic = broker.metadata.get(t.name)
        if topic is not None and names.count(t.name) == 1:
            added += max(t.count - topic.partitions, 0)
    if added > MAX_NEW_PARTITIONS_PER_REQUEST:
        for t in req.topics:
            response.results.append(
                Result(
                    name=t.name,
                    error_code=ErrorCode.POLICY_VIOLATION,
                    error_message="Excessively large number of additional partitions per request.",
                )
            )
        return response
    answered: set[str] = set()
    for t in req.topics:
        if t.name in answered:
            continue
        answered.add(t.name)
        result = Result(name=t.name)
        response.results.append(result)
        with ItemError() as failed:
            if names.count(t.name) > 1:
                raise KafkaError(ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
            topic = broker.metadata.get(t.name)
            if topic is None:
                raise KafkaError(
                    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {t.name} does not exist"
                )
            if t.count < topic.partitions:
                raise KafkaError(
                    ErrorCode.INVALID_PARTITIONS,
                    f"Topic currently has {topic.partitions} partitions, which is higher than "
                    f"the requested {t.count}.",
                )
            if t.count == topic.partitions:
                raise KafkaError(
                    ErrorCode.INVALID_PARTITIONS,
                    f"Topic already has {topic.partitions} partitions.",
                )
            if t.assignments is not None:
                if len(t.assignments) != t.count - topic.partitions:
                    raise KafkaError(
                        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                        f"Attempted to add {t.count - topic.partitions} additional partitions, "
                        f"but only {len(t.assignments)} assignments were specified.",
                    )
                for a in t.assignments:
                    if a.broker_ids != [broker.node_id]:
                        raise KafkaError(
                            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                            f"Invalid replica assignment {a.broker_ids}",
                        )
            if not req.validate_only:
                await broker.add_partitions(t.name, t.count)
        result.error_code, result.error_message = failed.code, failed.message
    return response
