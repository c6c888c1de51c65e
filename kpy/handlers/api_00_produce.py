"""Produce (key 0), versions 3-11 (Kafka 4 dropped 0-2, KIP-896).

Each partition's records are validated (kpy.storage.validator) and appended independently,
so one partition's error does not fail the others. acks=0 gets no response at all; acks=1
and acks=-1 are the same on a single broker: the append is acknowledged once it is in the
log (and fsynced when the topic's flush settings ask for it).

``produce_frame`` is the connection's shortcut for the common request (no transactional id,
acks 1 or -1, no tagged fields): it reads the frame with a few struct calls, appends through
the same ``append_partition`` as the handler, and writes a response with no errors directly;
anything else (or any error) takes the general path, which gives byte-identical responses.
"""

from __future__ import annotations

import logging
import struct
from typing import Any

from kpy.dispatch import REGISTRY, RequestContext, handles
from kpy.protocol import framing
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.produce import ProduceRequest, ProduceResponse
from kpy.protocol.primitives import ProtocolError, read_uvarint, write_uvarint
from kpy.storage.validator import validate_produce_records

log = logging.getLogger("kpy.handlers.produce")

PartitionResponse = ProduceResponse.PartitionProduceResponse


def error_response(req: ProduceRequest, version: int, code: int) -> ProduceResponse:
    return ProduceResponse(
        responses=[
            ProduceResponse.TopicProduceResponse(
                name=t.name,
                partition_responses=[
                    PartitionResponse(index=p.index, error_code=code, base_offset=-1)
                    for p in t.partition_data
                ],
            )
            for t in req.topic_data
        ]
    )


@handles(0, 3, 11, error_response=error_response)
async def produce(ctx: RequestContext, req: ProduceRequest) -> ProduceResponse | None:
    broker = ctx.broker
    if req.acks not in (0, 1, -1):
        return error_response(req, ctx.api_version, ErrorCode.INVALID_REQUIRED_ACKS)
    now_ms = int(broker.clock() * 1000)
    response = ProduceResponse()
    appended: list = []
    for topic in req.topic_data:
        results = []
        for part in topic.partition_data:
            results.append(
                append_partition(
                    broker,
                    topic.name,
                    part.index,
                    part.records,
                    now_ms,
                    req.transactional_id,
                    appended,
                )
            )
        response.responses.append(
            ProduceResponse.TopicProduceResponse(name=topic.name, partition_responses=results)
        )
    await broker.after_produce(appended)
    if req.acks == 0:
        return None
    return response


def append_partition(
    broker,
    topic: str,
    index: int,
    data: Any,
    now_ms: int,
    transactional_id: str | None,
    appended: list,
):
    try:
        log = broker.partition_log(topic, index)
        meta = broker.metadata.get(topic)
        if meta.internal:
            raise KafkaError(
                ErrorCode.INVALID_TOPIC_EXCEPTION, f"Cannot append to internal topic {topic}"
            )
        batch = validate_produce_records(data, broker.topic_effective_config(topic), now_ms)
        if transactional_id is not None:
            broker.txns.check_produce(transactional_id, topic, index, batch.header)
        result = log.append(
            batch.buffer,
            leader_epoch=meta.leader_epochs[index],
            log_append_time_ms=batch.log_append_time_ms,
            header=batch.header,
        )
    except KafkaError as exc:
        return PartitionResponse(
            index=index, error_code=exc.code, base_offset=-1, error_message=exc.message
        )
    except OSError as exc:
        broker.report_storage_error(topic, index, exc)
        return PartitionResponse(
            index=index,
            error_code=ErrorCode.KAFKA_STORAGE_ERROR,
            base_offset=-1,
            error_message=str(exc),
        )
    broker.notify_append((topic, index))
    appended.append(log)
    return PartitionResponse(
        index=index,
        base_offset=result.base_offset,
        log_append_time_ms=result.log_append_time_ms,
        log_start_offset=result.log_start_offset,
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
    if pos != len(frame) or acks not in (1, -1):
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
    if frame[pos] != 0 or pos + 1 != len(frame) or acks not in (1, -1):
        return None
    return version, corr, acks, topics


async def produce_frame(broker, frame: memoryview) -> list[Any] | None:
    """Answer a produce frame through the shortcut: the response chunks, or None when the
    frame needs the general path (nothing has been appended then)."""
    parsed = parse_simple(frame)
    if parsed is None:
        return None
    version, corr, _acks, topics = parsed
    now_ms = int(broker.clock() * 1000)
    appended: list = []
    try:
        results = [
            (name, [append_partition(broker, name, i, d, now_ms, None, appended) for i, d in parts])
            for name, parts in topics
        ]
        await broker.after_produce(appended)
    except Exception:
        log.exception("Produce v%d failed", version)
        code = ErrorCode.UNKNOWN_SERVER_ERROR
        results = [
            (name, [PartitionResponse(index=i, error_code=code, base_offset=-1) for i, _ in parts])
            for name, parts in topics
        ]
    if any(r.error_code for _, rs in results for r in rs):
        response = ProduceResponse(
            responses=[
                ProduceResponse.TopicProduceResponse(name=name, partition_responses=rs)
                for name, rs in results
            ]
        )
        return framing.encode_response(corr, 0, version, response)
    return [encode_success(corr, version, results)]


def encode_success(corr: int, version: int, results: list[tuple[str, list[Any]]]) -> bytearray:
    """The whole response frame (size prefix included) when no partition has an error."""
    b = bytearray(8)
    _I32.pack_into(b, 4, corr)
    flexible = version >= 9
    if flexible:
        b.append(0)  # response header tagged fields
        write_uvarint(b, len(results) + 1)
    else:
        b += _I32.pack(len(results))
    pack = _PARTITION_OK.pack if version >= 5 else _PARTITION_OK_V3.pack
    tail = _FLEX_TAIL if flexible else _V8_TAIL if version >= 8 else b""
    for name, rs in results:
        raw = name.encode()
        if flexible:
            write_uvarint(b, len(raw) + 1)
            b += raw
            write_uvarint(b, len(rs) + 1)
        else:
            b += _I16.pack(len(raw)) + raw + _I32.pack(len(rs))
        for r in rs:
            if version >= 5:
                b += pack(r.index, 0, r.base_offset, r.log_append_time_ms, r.log_start_offset)
            else:
                b += pack(r.index, 0, r.base_offset, r.log_append_time_ms)
            b += tail
        if flexible:
            b.append(0)  # topic tagged fields
    b += b"\x00\x00\x00\x00"  # throttle time
    if flexible:
        b.append(0)  # response tagged fields
    _I32.pack_into(b, 0, len(b) - 4)
    return b
