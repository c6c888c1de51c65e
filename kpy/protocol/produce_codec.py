"""Produce (key 0) read and answered without building message objects: the busiest request.

``parse(frame)`` reads a whole request frame (header and body, no size prefix) into a
``ProduceView``: the header fields, transactional id, acks, timeout and the topics as
``[(name, [(partition, records)])]`` where each records value is a memoryview slice of the
frame (zero-copy). It takes versions 3-11 (headers v1 and, from v9, v2) of this shape:

- every array and topic name present (not null) and every records field present;
- no tagged fields at all (request header, body, topics, partitions) in flexible versions.

It returns None for any other request (another API key, a version outside 3-11, null
records, a tagged field), which is the generated decoder's (``kpy.protocol.messages``) to
read or refuse. Bytes that do not decode (truncated, an array or string overrunning the
frame, a null topic array or name, invalid UTF-8) raise ProtocolError, and only where the
generated decoder refuses them too; whatever ``parse`` returns a view for, the generated
decoder decodes to the same values. Like it, ``parse`` ignores bytes after the request.

``ProduceAnswer`` is the response from per-partition outcomes; ``framing.encode_response``
writes it. When every partition succeeded its body is packed here directly; otherwise it
is the generated ``ProduceResponse`` (``response_of``), which carries error messages and
the per-version error fields. Both give the same bytes for the same outcomes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from kpy.protocol.primitives import ProtocolError, read_uvarint, write_uvarint

API_KEY = 0
MIN_VERSION = 3  # v0-2 have no transactional id (and Kafka 4 refuses them)
MAX_VERSION = 11
FLEXIBLE_FROM = 9

Topics = list[tuple[str, list[tuple[int, memoryview]]]]
# One partition's outcome: (index, error code, base offset, log append time, log start
# offset, error message). Plain tuples on the produce path; message objects only when a
# response goes through the generated encoder.
Outcome = tuple[int, int, int, int, int, str | None]
Results = list[tuple[str, list[Outcome]]]  # (topic, its partitions' outcomes)

_HEADER = struct.Struct(">hhih")  # api key, version, correlation id, client id length
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I16_I32 = struct.Struct(">hi")  # acks, timeout
_I32_I32 = struct.Struct(">ii")  # partition index, records size
_PARTITION_OK = struct.Struct(">ihqqq")  # index, error 0, base offset, append time, start offset
_PARTITION_OK_V3 = struct.Struct(">ihqq")  # v3-v4: no log start offset
_V8_TAIL = b"\x00\x00\x00\x00\xff\xff"  # v8: no record errors, null error message
_FLEX_TAIL = b"\x01\x00\x00"  # v9+: no record errors, null error message, no tagged fields


@dataclass(slots=True)
class ProduceView:
    """A Produce request as ``parse`` reads it; records are views of the frame."""

    version: int
    correlation_id: int
    client_id: str | None
    transactional_id: str | None
    acks: int
    timeout_ms: int
    topics: Topics


def is_produce(buf: Any, pos: int = 0) -> bool:
    """Whether the request whose header starts at ``pos`` of ``buf`` is a Produce (its int16
    api key is 0); ``buf`` may hold less than a whole frame."""
    return len(buf) >= pos + 2 and buf[pos] == 0 and buf[pos + 1] == API_KEY


def parse(frame: Any) -> ProduceView | None:
    """The request in ``frame`` (header first, no size prefix) if it has the shape above, else
    None. Raises ProtocolError for bytes that do not decode."""
    view = frame if isinstance(frame, memoryview) else memoryview(frame)
    try:
        return _parse(view)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"malformed Produce request: {exc}") from exc


def _text(frame: memoryview, pos: int, n: int) -> str:
    end = pos + n
    if end > len(frame):
        raise ProtocolError(f"string of {n} bytes at position {pos} overruns the frame")
    return str(frame[pos:end], "utf-8")


def _count(n: int, pos: int, frame: memoryview) -> int:
    # As the generated decoder: no null arrays here, and no more items than bytes left.
    if n < 0 or n > len(frame) - pos:
        raise ProtocolError(f"array of {n} items at position {pos} in a {len(frame)}-byte frame")
    return n


def _parse(frame: memoryview) -> ProduceView | None:
    key, version, corr, n = _HEADER.unpack_from(frame, 0)
    if key != API_KEY or not MIN_VERSION <= version <= MAX_VERSION:
        return None
    pos = 10
    client_id = None
    if n >= 0:  # the client id is a (non-compact) nullable string in every header version
        client_id = _text(frame, pos, n)
        pos += n
    if version >= FLEXIBLE_FROM:
        if frame[pos] != 0:  # request header tagged fields
            return None
        return _parse_flexible(frame, pos + 1, version, corr, client_id)
    (n,) = _I16.unpack_from(frame, pos)
    transactional_id = None
    pos += 2
    if n >= 0:
        transactional_id = _text(frame, pos, n)
        pos += n
    acks, timeout = _I16_I32.unpack_from(frame, pos)
    pos += 6
    topics: Topics = []
    (count,) = _I32.unpack_from(frame, pos)
    pos += 4
    for _ in range(_count(count, pos, frame)):
        (n,) = _I16.unpack_from(frame, pos)
        if n < 0:
            raise ProtocolError(f"null topic name at position {pos}")
        name = _text(frame, pos + 2, n)
        pos += 2 + n
        (count,) = _I32.unpack_from(frame, pos)
        pos += 4
        partitions = []
        for _ in range(_count(count, pos, frame)):
            index, size = _I32_I32.unpack_from(frame, pos)
            pos += 8
            if size < 0:
                return None  # null records
            end = pos + size
            if end > len(frame):
                raise ProtocolError(f"records of {size} bytes at position {pos} overrun the frame")
            partitions.append((index, frame[pos:end]))
            pos = end
        topics.append((name, partitions))
    return ProduceView(version, corr, client_id, transactional_id, acks, timeout, topics)


def _parse_flexible(
    frame: memoryview, pos: int, version: int, corr: int, client_id: str | None
) -> ProduceView | None:
    n, pos = read_uvarint(frame, pos)  # compact lengths: n - 1, and 0 is null
    transactional_id = None
    if n:
        transactional_id = _text(frame, pos, n - 1)
        pos += n - 1
    acks, timeout = _I16_I32.unpack_from(frame, pos)
    count, pos = read_uvarint(frame, pos + 6)
    topics: Topics = []
    for _ in range(_count(count - 1, pos, frame)):
        n, pos = read_uvarint(frame, pos)
        if n == 0:
            raise ProtocolError(f"null topic name at position {pos - 1}")
        name = _text(frame, pos, n - 1)
        count, pos = read_uvarint(frame, pos + n - 1)
        partitions = []
        for _ in range(_count(count - 1, pos, frame)):
            (index,) = _I32.unpack_from(frame, pos)
            size, pos = read_uvarint(frame, pos + 4)
            if size == 0:
                return None  # null records
            end = pos + size - 1
            if end > len(frame):
                raise ProtocolError(f"records of {size - 1} bytes at position {pos} overrun")
            partitions.append((index, frame[pos:end]))
            if frame[end] != 0:  # partition tagged fields
                return None
            pos = end + 1
        if frame[pos] != 0:  # topic tagged fields
            return None
        pos += 1
        topics.append((name, partitions))
    if frame[pos] != 0:  # request tagged fields
        return None
    return ProduceView(version, corr, client_id, transactional_id, acks, timeout, topics)


# -- the response -----------------------------------------------------------------------------


def response_of(results: Results) -> Any:
    """The generated response message (ProduceResponse) for ``results``."""
    # Imported here: the generated classes load with the first answer that needs them, not
    # with dispatch (the broker imports message modules on first use).
    from kpy.protocol.messages.produce import ProduceResponse

    PartitionResponse = ProduceResponse.PartitionProduceResponse
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


def succeeded(results: Results) -> bool:
    """Whether every partition was appended (no error code, no error message)."""
    for _, outcomes in results:  # loops, not any(): this runs for every produce request
        for outcome in outcomes:
            if outcome[1] or outcome[5] is not None:
                return False
    return True


class ProduceAnswer:
    """A Produce response given as per-partition outcomes, encoded as ProduceResponse is
    (``encode_into_buffer``, as ``framing.encode_response`` calls it)."""

    __slots__ = ("results",)

    def __init__(self, results: Results) -> None:
        self.results = results

    def response(self) -> Any:
        """The same answer as a ProduceResponse message."""
        return response_of(self.results)

    def encode_into_buffer(self, b: bytearray, chunks: list[Any], version: int) -> None:
        if succeeded(self.results):
            encode_success(b, version, self.results)
        else:
            response_of(self.results).encode_into_buffer(b, chunks, version)


def encode_success(b: bytearray, version: int, results: Results) -> None:
    """Append the body of the response (after its header) for outcomes without errors."""
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ValueError(f"ProduceResponse v{version} is not packed here")
    flexible = version >= FLEXIBLE_FROM
    if flexible:
        write_uvarint(b, len(results) + 1)
    else:
        b += _I32.pack(len(results))
    tail = _FLEX_TAIL if flexible else _V8_TAIL if version >= 8 else b""
    with_start = version >= 5
    for name, outcomes in results:
        raw = name.encode()
        if flexible:
            write_uvarint(b, len(raw) + 1)
            b += raw
            write_uvarint(b, len(outcomes) + 1)
        else:
            b += _I16.pack(len(raw)) + raw + _I32.pack(len(outcomes))
        for index, _, base, append_time, start, _ in outcomes:
            if with_start:
                b += _PARTITION_OK.pack(index, 0, base, append_time, start)
            else:
                b += _PARTITION_OK_V3.pack(index, 0, base, append_time)
            b += tail
        if flexible:
            b.append(0)  # topic tagged fields
    b += b"\x00\x00\x00\x00"  # throttle time
    if flexible:
        b.append(0)  # response tagged fields
