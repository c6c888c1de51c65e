"""Produce (key 0), versions 3-11 (Kafka 4 dropped 0-2, KIP-896), advertised from v0.

Like Kafka 4 (KAFKA-18659), ApiVersions lists Produce from v0 while a v0-2 request closes the
connection (dispatch refuses the version): librdkafka before 2.11.1 turns gzip, snappy and
lz4 on only when the broker lists Produce v0, and clients send the highest version both
sides know, so no client picks v0-2 from this.

Each partition's records are validated (kpy.storage.validator) and appended independently,
so one partition's error does not fail the others. acks=0 gets no response at all; acks=1
and acks=-1 are the same on a single broker: the append is acknowledged once it is in the
log (and fsynced when the topic's flush settings ask for it; a failed fsync answers that
partition KAFKA_STORAGE_ERROR, as Kafka's flush inside the append does).

The request comes as dispatch read it: a ``ProduceView`` from kpy.protocol.produce_codec
(the common shape, records as views of the frame, no message objects) or, for any other
shape, the generated ``ProduceRequest``. Either way the answer is a ``ProduceAnswer`` of
plain outcome tuples, which the codec packs directly when no partition failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kpy.dispatch import CloseConnection, RequestContext, handles
from kpy.handlers.errors import ItemError
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.produce import ProduceRequest, ProduceResponse
from kpy.protocol.produce_codec import Outcome, ProduceAnswer, ProduceView, Results, response_of
from kpy.storage.validator import validate_produce_records

Request = ProduceRequest | ProduceView


def topics_of(req: Request) -> list[tuple[str, list[tuple[int, Any]]]]:
    """[(topic, [(partition, records)])] of either form of the request."""
    if isinstance(req, ProduceView):
        return req.topics
    return [(t.name, [(p.index, p.records) for p in t.partition_data]) for t in req.topic_data]


def failed(topics: list[tuple[str, list[int]]], code: int) -> Results:
    """Every partition of ``topics`` answered with ``code``."""
    return [(name, [(i, code, -1, -1, -1, None) for i in indexes]) for name, indexes in topics]


def error_response(req: Request, version: int, code: int) -> ProduceResponse | None:
    """Kafka's answer to a failed produce; none for acks=0, whose connection Kafka closes."""
    if not answered(req.acks):
        return None
    if isinstance(req, ProduceView):  # the same answer as the generated error_response
        return response_of(failed([(n, [i for i, _ in ps]) for n, ps in req.topics], code))
    return req.error_response(version, code)


def answered(acks: int) -> bool:
    """acks=0 gets no response at all; 1 and -1 are answered once the batch is in the log."""
    # mutation-point: produce-acks
    return acks != 0


@handles(0, 3, 11, advertised_min=0, error_response=error_response)
async def produce(ctx: RequestContext, req: Request) -> ProduceAnswer | None:
    if req.acks not in (0, 1, -1):
        return _refused_acks(ctx.broker, req)
    results, due = append_all(ctx.broker, topics_of(req), req.transactional_id, ctx.api_version)
    if due:
        results = with_failures(results, await ctx.broker.flush_logs(due))
    if answered(req.acks):
        return ProduceAnswer(results)
    if any(r[1] for _, parts in results for r in parts):
        # Kafka closes the connection of an acks=0 produce with any failed partition: the
        # producer's next metadata refresh then learns what changed.
        raise CloseConnection("an acks=0 produce failed for at least one partition")
    return None


def with_failures(results: Results, failed: Mapping[tuple[str, int], KafkaError]) -> Results:
    """``results`` with the partitions whose fsync failed answered with that error."""
    if not failed:
        return results
    return [
        (
            name,
            [
                (r[0], exc.code, -1, -1, -1, exc.message)
                if (exc := failed.get((name, r[0]))) is not None
                else r
                for r in outcomes
            ],
        )
        for name, outcomes in results
    ]


def _refused_acks(broker, req: Request) -> ProduceAnswer:
    """As Kafka: an unknown partition is UNKNOWN_TOPIC_OR_PARTITION before the acks are
    looked at; the others INVALID_REQUIRED_ACKS; a topic without partitions is left out."""

    def code(name: str, index: int) -> int:
        topic = broker.metadata.get(name)
        if topic is None or not 0 <= index < topic.partitions:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return ErrorCode.INVALID_REQUIRED_ACKS

    return ProduceAnswer(
        [
            (name, [(i, code(name, i), -1, -1, -1, None) for i, _ in parts])
            for name, parts in topics_of(req)
            if parts
        ]
    )


def append_all(
    broker,
    topics: list[tuple[str, list[tuple[int, Any]]]],
    transactional_id: str | None,
    version: int,
) -> tuple[Results, list]:
    """Append each partition's records independently; returns the outcomes and the logs
    whose flush policy made an fsync due (to run before answering)."""
    now_ms = int(broker.clock() * 1000)
    appended: list = []
    results = [
        (
            name,
            [
                append_partition(broker, name, i, data, now_ms, transactional_id, version, appended)
                for i, data in parts
            ],
        )
        for name, parts in topics
        if parts  # as Kafka, whose answer is built per partition: no partition, no topic
    ]
    return results, [lg for lg in appended if lg.flush_due(now_ms)]


def append_partition(
    broker,
    topic: str,
    index: int,
    data: Any,
    now_ms: int,
    transactional_id: str | None,
    version: int,
    appended: list,
) -> Outcome:
    log = None
    with ItemError() as refused:  # KafkaStorageError included: the log dir is offline
        log = broker.partition_log(topic, index)
        meta = broker.metadata.get(topic)
        if meta.internal:
            raise KafkaError(
                ErrorCode.INVALID_TOPIC_EXCEPTION, f"Cannot append to internal topic {topic}"
            )
        batch = validate_produce_records(data, broker.topic_effective_config(topic), now_ms)
        if transactional_id is not None:
            broker.txns.check_produce(transactional_id, topic, index, batch.header, version)
        result = log.append_batch(batch, meta.leader_epochs[index])
    if refused:
        # As Kafka: a batch refused for a record's timestamp carries the log start offset.
        start = -1
        if refused.code == ErrorCode.INVALID_TIMESTAMP and log is not None:
            start = log.log_start_offset
        return (index, refused.code, -1, -1, start, refused.message)
    broker.notify_append((topic, index))
    appended.append(log)
    # mutation-point: produce-outcome
    return (
        index,
        0,
        result.base_offset,
        result.log_append_time_ms,
        result.log_start_offset,
        None,
    )
