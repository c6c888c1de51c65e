"""Produce (key 0), versions 3-11 (Kafka 4 dropped 0-2, KIP-896), advertised from v0.

Like Kafka 4 (KAFKA-18659), ApiVersions lists Produce from v0 while a v0-2 request closes the
connection (dispatch, and the shortcut below, which leaves such a frame to dispatch):
librdkafka before 2.11.1 turns gzip, snappy and lz4 on only when the broker lists Produce v0,
and clients send the highest version both sides know, so no client picks v0-2 from this.

Each partition's records are validated (kpy.storage.validator) and appended independently,
so one partition's error does not fail the others. acks=0 gets no response at all; acks=1
and acks=-1 are the same on a single broker: the append is acknowledged once it is in the
log (and fsynced when the topic's flush settings ask for it; a failed fsync answers that
partition KAFKA_STORAGE_ERROR, as Kafka's flush inside the append does).

``produce_frame`` is the connection's shortcut for the common request (no transactional id,
no tagged fields): it reads the frame with a few struct calls, appends through
the same ``append_partition`` as the handler, and writes a response with no errors directly;
anything else takes the general path, and a response with errors goes through the generated
encoder, which gives byte-identical responses.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping
from typing import Any

from kpy.dispatch import REGISTRY, RequestContext, handles
from kpy.handlers.errors import ItemError
from kpy.protocol import framing
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.produce import ProduceRequest, ProduceResponse
from kpy.protocol.primitives import ProtocolError, read_uvarint, write_uvarint
from kpy.storage.validator import validate_produce_records

log = logging.getLogger("kpy.handlers.produce")

PartitionResponse = ProduceResponse.PartitionProduceResponse

# One partition's outcome: (index, error code, base offset, log append time, log start
# offset, error message). Plain tuples on the produce path; message objects only when a
# response goes through the generated encoder.
Outcome = tuple[int, int, int, int, int, str | None]
Results = list[tuple[str, list[Outcome]]]  # (topic, its partitions' outcomes)


def response_of(results: Results) -> ProduceResponse:
    return ProduceResponse(
        responses=[
            ProduceResponse.TopicProduceResponse(
                name=name,
                partition_responses=[
                    PartitionResponse(
                        index=index,
                        error_code=code,
                        base_offset=base,
                        log_append_time_ms=append_time,
                        log_start_offset=start,
                        error_message=message,
                    )
                    for index, code, base, append_time, start, message in outcomes
                ],
            )
            for name, outcomes in results
        ]
    )


def failed(topics: list[tuple[str, list[int]]], code: int) -> Results:
    """Every partition of ``topics`` answered with ``code``."""
    return [(name, [(i, code, -1, -1, -1, None) for i in indexes]) for name, indexes in topics]


def error_response(req: ProduceRequest, version: int, code: int) -> ProduceResponse | None:
    """Kafka's answer to a failed produce; none for acks=0, whose connection Kafka closes."""
    return req.error_response(version, code) if answered(req.acks) else None


def answered(acks: int) -> bool:
    """acks=0 gets no response at all; 1 and -1 are answered once the batch is in the log."""
    # mutation-point: produce-acks
    return acks != 0


@handles(0, 3, 11, advertised_min=0, error_response=error_response)
async def produce(ctx: RequestContext, req: ProduceRequest) -> ProduceResponse | None:
    if req.acks not in (0, 1, -1):
        return _refused_acks(ctx.broker, req)
    topics = [(t.name, [(p.index, p.records) for p in t.partition_data]) for t in req.topic_data]
    results, due = append_all(ctx.broker, topics, req.transactional_id, ctx.api_version)
    if due:
        results = with_failures(results, await ctx.broker.flush_logs(due))
    return response_of(results) if answered(req.acks) else None


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


def _refused_acks(broker, req: ProduceRequest) -> ProduceResponse:
    """As Kafka: an unknown partition is UNKNOWN_TOPIC_OR_PARTITION before the acks are
    looked at; the others INVALID_REQUIRED_ACKS; a topic without partitions is left out."""

    def code(name: str, index: int) -> int:
        topic = broker.metadata.get(name)
        if topic is None or not 0 <= index < topic.partitions:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        return ErrorCode.INVALID_REQUIRED_ACKS

    return response_of(
        [
            (t.name, [(p.index, code(t.name, p.index), -1, -1, -1, None) for p in t.partition_data])
            for t in req.topic_data
            if t.partition_data
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


# -- the shortcut for the common request ---------------------------------------------------------

_HEADER = struct.Struct(">hhih")  # api key, version, correlation id, client id length
_ACKS_TIMEOUT = struct.Struct(">hi")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I32_I32 = struct.Struct(">ii")
_PARTITION_OK = struct.Struct(">ihqqq")  # index, error 0, base offset, append time, start offset
_PARTITION_OK_V3 = struct.Struct(">ihqq")  # v3-v4: no log start offset
_V8_TAIL = b"\x00\x00\x00\x00\xff\xff"  # v8: no record errors, null error message
_FLEX_TAIL = b"\x01\x00\x00"  # v9+: no record errors, null error message, no tagged fields

Parsed = tuple[int, int, int, list[tuple[str, list[tuple[int, Any]]]]]


def parse_simple(frame: memoryview) -> Parsed | None:
    """(version, correlation id, acks, [(topic, [(partition, records)])]) of a produce frame
    the shortcut can take, else None. Records are views of ``frame``."""
    try:
        key, version, corr, n = _HEADER.unpack_from(frame, 0)
        reg = REGISTRY.get(0)
        if key != 0 or reg is None or not reg.min_version <= version <= reg.max_version:
            return None
        if n < -1:
            return None
        pos = 10 + max(n, 0)
        if version >= 9:
            if frame[pos] != 0:  # header tagged fields
                return None
            return _parse_flexible(frame, pos + 1, version, corr)
        if _I16.unpack_from(frame, pos)[0] != -1:  # transactional id
            return None
        acks, _timeout = _ACKS_TIMEOUT.unpack_from(frame, pos + 2)
        (count,) = _I32.unpack_from(frame, pos + 8)
        pos += 12
        if count < 0:
            return None
        topics = []
        for _ in range(count):
            (n,) = _I16.unpack_from(frame, pos)
            if n < 0:
                return None
            name = str(frame[pos + 2 : pos + 2 + n], "utf-8")
            (parts,) = _I32.unpack_from(frame, pos + 2 + n)
            pos += 6 + n
            if parts < 0:
                return None
            partitions = []
            for _ in range(parts):
                index, size = _I32_I32.unpack_from(frame, pos)
                pos += 8
                if size < 0 or pos + size > len(frame):
                    return None
                partitions.append((index, frame[pos : pos + size]))
                pos += size
            topics.append((name, partitions))
    except (struct.error, IndexError, UnicodeDecodeError, ProtocolError):
        return None
    if pos != len(frame) or acks not in (0, 1, -1):
        return None
    return version, corr, acks, topics


def _parse_flexible(frame: memoryview, pos: int, version: int, corr: int) -> Parsed | None:
    if frame[pos] != 0:  # transactional id (compact: 0 is null)
        return None
    acks, _timeout = _ACKS_TIMEOUT.unpack_from(frame, pos + 1)
    count, pos = read_uvarint(frame, pos + 7)
    if count == 0:  # a null array
        return None
    topics = []
    for _ in range(count - 1):
        n, pos = read_uvarint(frame, pos)
        if n == 0:
            return None
        name = str(frame[pos : pos + n - 1], "utf-8")
        parts, pos = read_uvarint(frame, pos + n - 1)
        if parts == 0:
            return None
        partitions = []
        for _ in range(parts - 1):
            (index,) = _I32.unpack_from(frame, pos)
            size, pos = read_uvarint(frame, pos + 4)
            if size == 0 or pos + size - 1 >= len(frame):
                return None
            partitions.append((index, frame[pos : pos + size - 1]))
            pos += size - 1
            if frame[pos] != 0:  # partition tagged fields
                return None
            pos += 1
        if frame[pos] != 0:  # topic tagged fields
            return None
        topics.append((name, partitions))
        pos += 1
    if frame[pos] != 0 or pos + 1 != len(frame) or acks not in (0, 1, -1):
        return None
    return version, corr, acks, topics


async def produce_frame(broker, frame: memoryview) -> list[Any] | None:
    """Take a produce frame through the shortcut: the response chunks ([] for acks=0), sent
    once the fsyncs the flush policy made due have run, or None when the frame needs the
    general path (nothing has been appended then)."""
    parsed = parse_simple(frame)
    if parsed is None:
        return None
    version, corr, acks, topics = parsed
    try:
        results, due = append_all(broker, topics, None, version)
    except Exception:
        # As dispatch does for the general path.
        log.exception("Produce v%d handler failed", version)
        indexes = [(name, [i for i, _ in parts]) for name, parts in topics]
        results, due = failed(indexes, ErrorCode.UNKNOWN_SERVER_ERROR), []
    if due:
        results = with_failures(results, await broker.flush_logs(due))
    if not answered(acks):
        return []
    if any(r[1] for _, rs in results for r in rs):
        return framing.encode_response(corr, 0, version, response_of(results))
    return [encode_success(corr, version, results)]


def encode_success(corr: int, version: int, results: Results) -> bytearray:
    """The whole response frame (size prefix included) when no partition has an error."""
    b = bytearray(8)
    _I32.pack_into(b, 4, corr)
    flexible = version >= 9
    if flexible:
        b.append(0)  # response header tagged fields
        write_uvarint(b, len(results) + 1)
    else:
        b += _I32.pack(len(results))
    tail = _FLEX_TAIL if flexible else _V8_TAIL if version >= 8 else b""
    for name, rs in results:
        raw = name.encode()
        if flexible:
            write_uvarint(b, len(raw) + 1)
            b += raw
            write_uvarint(b, len(rs) + 1)
        else:
            b += _I16.pack(len(raw)) + raw + _I32.pack(len(rs))
        for index, _, base, append_time, start, _ in rs:
            if version >= 5:
                b += _PARTITION_OK.pack(index, 0, base, append_time, start)
            else:
                b += _PARTITION_OK_V3.pack(index, 0, base, append_time)
            b += tail
        if flexible:
            b.append(0)  # topic tagged fields
    b += b"\x00\x00\x00\x00"  # throttle time
    if flexible:
        b.append(0)  # response tagged fields
    _I32.pack_into(b, 0, len(b) - 4)
    return b
