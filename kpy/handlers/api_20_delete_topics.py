"""DeleteTopics (key 20), versions 1-6 (Kafka 4 dropped v0, KIP-896).

Topics by name (v1-5) or by name or id (v6+). The partition directories, and every group's
committed offsets of the topic (tombstones in __consumer_offsets, as Kafka writes), are removed
before the response is sent, so a topic created again under the name starts with no offsets.
Internal topics (__consumer_offsets, __transaction_state) are refused with INVALID_REQUEST.

As Kafka's controller: a timeout of 0 or below is REQUEST_TIMED_OUT for every topic asked,
nothing deleted, unless every entry is refused as below (kpy/handlers/controller.py); an entry with both a name and an id, or with
neither (the zero id), is INVALID_REQUEST and keeps what it asked; a name or an id given twice
is answered once, INVALID_REQUEST; a name whose topic's id is also asked is INVALID_REQUEST
and the id gets no answer.
"""

from __future__ import annotations

import uuid

from kpy.dispatch import RequestContext, handles
from kpy.handlers.controller import check_deadline
from kpy.handlers.errors import ItemError
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.delete_topics import DeleteTopicsRequest, DeleteTopicsResponse

Result = DeleteTopicsResponse.DeletableTopicResult
ZERO_UUID = uuid.UUID(int=0)


def _asked(req: DeleteTopicsRequest, version: int) -> list[tuple[str | None, uuid.UUID]]:
    if version >= 6:
        return [(t.name, t.topic_id) for t in req.topics]
    return [(name, ZERO_UUID) for name in req.topic_names]


def _refused(name: str | None, topic_id: uuid.UUID, message: str) -> Result:
    return Result(
        name=name, topic_id=topic_id, error_code=ErrorCode.INVALID_REQUEST, error_message=message
    )


@handles(20, 1, 6)
async def delete_topics(ctx: RequestContext, req: DeleteTopicsRequest) -> DeleteTopicsResponse:
    broker = ctx.broker
    if not broker.config.get("delete.topic.enable"):
        code = (
            ErrorCode.TOPIC_DELETION_DISABLED if ctx.api_version >= 3 else ErrorCode.INVALID_REQUEST
        )
        raise KafkaError(code, "Topic deletion is disabled.")
    response = DeleteTopicsResponse()
    answers = response.responses
    names: dict[str, int] = {}
    ids: dict[uuid.UUID, int] = {}
    asked = _asked(req, ctx.api_version)
    for name, topic_id in asked:
        if name is None and topic_id == ZERO_UUID:
            answers.append(_refused(None, ZERO_UUID, "Neither topic name nor id were specified."))
        elif name is None:
            ids[topic_id] = ids.get(topic_id, 0) + 1
        elif topic_id == ZERO_UUID:
            names[name] = names.get(name, 0) + 1
        else:
            answers.append(
                _refused(name, topic_id, "You may not specify both topic name and topic id.")
            )
    answers += [_refused(n, ZERO_UUID, "Duplicate topic name.") for n, c in names.items() if c > 1]
    answers += [_refused(None, i, "Duplicate topic id.") for i, c in ids.items() if c > 1]
    if 1 in names.values() or 1 in ids.values():
        check_deadline(req.timeout_ms)  # Kafka's controller is asked to look them up
    # The topics to delete by id, each with the name it has now.
    by_id: dict[uuid.UUID, str] = {}
    for topic_id in [i for i, c in ids.items() if c == 1]:
        topic = broker.metadata.by_id(topic_id)
        if topic is None:
            answers.append(
                Result(
                    name=None,
                    topic_id=topic_id,
                    error_code=ErrorCode.UNKNOWN_TOPIC_ID,
                    error_message=f"Topic id {topic_id} does not exist",
                )
            )
        else:
            by_id[topic_id] = topic.name
    for name in [n for n, c in names.items() if c == 1]:
        topic = broker.metadata.get(name)
        if topic is None:
            answers.append(
                Result(
                    name=name,
                    error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                    error_message=f"Topic {name} does not exist",
                )
            )
        elif topic.topic_id in ids:  # neither the name nor the id is deleted
            by_id.pop(topic.topic_id, None)
            answers.append(
                _refused(
                    name,
                    topic.topic_id,
                    "The provided topic name maps to an ID that was already supplied.",
                )
            )
        else:
            by_id[topic.topic_id] = name
    for topic_id, name in by_id.items():
        result = Result(name=name, topic_id=topic_id)
        answers.append(result)
        with ItemError() as failed:
            topic = broker.metadata.get(name)
            if topic is not None and topic.internal:
                raise KafkaError(ErrorCode.INVALID_REQUEST, f"Cannot delete internal topic {name}")
            await broker.delete_topic(name)
        result.error_code, result.error_message = failed.code, failed.message
    # Kafka shuffles its answers; kpy gives them in the order asked.
    first: dict[object, int] = {}
    for i, (name, topic_id) in enumerate(asked):
        first.setdefault(topic_id if name is None else name, i)
    answers.sort(key=lambda r: first.get(r.name if r.name in first else r.topic_id, len(first)))
    return response
