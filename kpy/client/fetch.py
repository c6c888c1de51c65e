"""Reading records from a partition, as a Kafka consumer reads them.

``fetch_partitions`` sends one Fetch to one leader for several partitions and decodes each
answer into a ``FetchedPartition``: the records at or after the asked offset (a compressed
batch starts before it), control batches skipped, under read_committed the records of
aborted transactions skipped too (the aborted-transaction list of the answer walked as the
Java consumer walks it), and ``next_offset``, the offset to ask for next (past skipped
batches, so a caller never asks for the same offset twice). Both topic names (Fetch v12 and
older) and topic ids (v13+) are filled in, so any version the broker speaks works.

``fetch_records`` is the simple form the console's message browser uses: the records of one
partition from ``offset`` up to ``end`` (default: the high watermark of the first answer),
without waiting for new ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import trio

from kpy.client.client import Client, ClientError, check
from kpy.protocol.messages.fetch import FetchRequest
from kpy.protocol.records import (
    CONTROL_ABORT,
    InvalidBatch,
    decode_control_key,
    iter_batches,
    iter_records,
)

READ_UNCOMMITTED, READ_COMMITTED = 0, 1
MAX_BYTES = 1 << 20
# LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH: ask metadata
# again after RETRY_BACKOFF_S (Kafka's retry.backoff.ms), then fetch from the new leader.
LEADER_MOVED = frozenset({5, 6, 74, 75})
RETRY_BACKOFF_S = 0.1
LEADER_MOVES = 10  # fetch_records gives up after this many in a row


@dataclass(slots=True)
class ConsumedRecord:
    """One record as a consumer sees it (timestamp in ms since the epoch; timestamp_type
    "CreateTime" or "LogAppendTime")."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    timestamp_type: str = "CreateTime"
    leader_epoch: int = -1


@dataclass(slots=True)
class FetchedPartition:
    """One partition's part of a Fetch answer. ``error`` is Kafka's code (0: none);
    ``next_offset`` is where the next fetch should start."""

    partition: int
    error: int
    records: list[ConsumedRecord]
    next_offset: int
    high_watermark: int
    last_stable_offset: int
    log_start_offset: int


async def topic_id(client: Client, topic: str) -> uuid.UUID:
    """The id metadata gives ``topic`` (Fetch v13+ names topics by id)."""
    t = client.cluster.topics.get(topic)
    if t is None:
        await client.refresh_metadata([topic])
        t = client.cluster.topics.get(topic)
    if t is None:
        raise ClientError(3, f"topic {topic!r} does not exist")
    return t.topic_id


async def fetch_partitions(
    client: Client,
    node: int,
    topic: str,
    offsets: dict[int, int],
    *,
    max_bytes: int = MAX_BYTES,
    max_wait_ms: int = 0,
    isolation_level: int = READ_UNCOMMITTED,
) -> dict[int, FetchedPartition]:
    """Fetch ``offsets`` (partition -> offset) of ``topic`` from broker ``node`` (their
    leader); waits up to ``max_wait_ms`` for at least one byte."""
    tid = await topic_id(client, topic)
    request = FetchRequest(
        replica_id=-1,
        max_wait_ms=max_wait_ms,
        min_bytes=1,
        max_bytes=max_bytes,
        isolation_level=isolation_level,
        session_id=0,
        session_epoch=-1,  # no fetch session: every request names its partitions
        topics=[
            FetchRequest.FetchTopic(
                topic=topic,
                topic_id=tid,
                partitions=[
                    FetchRequest.FetchPartition(
                        partition=p,
                        current_leader_epoch=-1,
                        fetch_offset=o,
                        last_fetched_epoch=-1,
                        log_start_offset=-1,
                        partition_max_bytes=max_bytes,
                    )
                    for p, o in offsets.items()
                ],
            )
        ],
    )
    answer = await client.send(request, node=node)
    check(answer.error_code, f"fetching {topic!r}")
    out = {}
    for t in answer.responses:
        for data in t.partitions:
            if data.partition_index in offsets:
                out[data.partition_index] = decode_partition(
                    topic, data, offsets[data.partition_index], isolation_level
                )
    return out


def decode_partition(
    topic: str, data: Any, offset: int, isolation_level: int = READ_UNCOMMITTED
) -> FetchedPartition:
    """The records of one partition of a Fetch answer from ``offset`` on (see the module's
    docstring for what is skipped)."""
    p = data.partition_index
    out = FetchedPartition(
        p,
        data.error_code,
        [],
        offset,
        data.high_watermark,
        data.last_stable_offset,
        data.log_start_offset,
    )
    if data.error_code or not data.records:
        return out
    buf = data.records if isinstance(data.records, bytes | bytearray) else bytes(data.records)
    aborted = sorted(
        (a.first_offset, a.producer_id)
        for a in (data.aborted_transactions or [])
        if isolation_level == READ_COMMITTED
    )
    open_aborts: set[int] = set()
    for pos, h in iter_batches(buf):
        if h.magic != 2:
            raise ClientError(None, f"{topic}-{p} holds a message set of magic {h.magic}")
        if h.next_offset <= offset:
            continue
        skip = h.is_control
        if isolation_level == READ_COMMITTED and h.producer_id >= 0:
            while aborted and aborted[0][0] <= h.last_offset:
                open_aborts.add(aborted.pop(0)[1])
            if h.is_control:
                if _is_abort_marker(buf, pos) and h.producer_id in open_aborts:
                    open_aborts.discard(h.producer_id)
            elif h.is_transactional and h.producer_id in open_aborts:
                skip = True
        if not skip:
            try:
                records = list(iter_records(buf, pos))
            except InvalidBatch as exc:
                raise ClientError(2, f"{topic}-{p} at offset {h.base_offset}: {exc}") from exc
            append_time = h.is_log_append_time
            for r in records:
                o = h.base_offset + r.offset_delta
                if o < offset:
                    continue
                out.records.append(
                    ConsumedRecord(
                        topic,
                        p,
                        o,
                        h.max_timestamp if append_time else h.base_timestamp + r.timestamp_delta,
                        r.key,
                        r.value,
                        r.headers,
                        "LogAppendTime" if append_time else "CreateTime",
                        h.partition_leader_epoch,
                    )
                )
        out.next_offset = h.next_offset
    return out


def _is_abort_marker(buf: bytes, pos: int) -> bool:
    first = next(iter_records(buf, pos), None)
    return first is not None and decode_control_key(first.key)[1] == CONTROL_ABORT


async def fetch_records(
    client: Client,
    topic: str,
    partition: int,
    offset: int,
    max_bytes: int = MAX_BYTES,
    *,
    end: int | None = None,
    max_records: int | None = None,
    isolation_level: int = READ_UNCOMMITTED,
) -> list[ConsumedRecord]:
    """The records of ``topic``-``partition`` from ``offset`` up to ``end`` (exclusive;
    default the high watermark, or the last stable offset under read_committed, as the first
    answer gives it), at most ``max_records`` of them and about ``max_bytes`` per request.
    Never waits for new records. An offset outside the log raises ClientError
    OFFSET_OUT_OF_RANGE; a leader still moving after LEADER_MOVES tries raises its error."""
    out: list[ConsumedRecord] = []
    moves = 0
    while max_records is None or len(out) < max_records:
        node = await client.leader_of(topic, partition)
        got = (
            await fetch_partitions(
                client,
                node,
                topic,
                {partition: offset},
                max_bytes=max_bytes,
                isolation_level=isolation_level,
            )
        ).get(partition)
        if got is None:
            raise ClientError(None, f"the fetch answer has no {topic}-{partition}")
        if got.error in LEADER_MOVED and moves < LEADER_MOVES:
            moves += 1
            await trio.sleep(RETRY_BACKOFF_S)
            await client.refresh_metadata([topic])
            continue
        moves = 0
        check(got.error, f"fetching {topic}-{partition} at offset {offset}")
        if end is None:
            end = (
                got.last_stable_offset
                if isolation_level == READ_COMMITTED and got.last_stable_offset >= 0
                else got.high_watermark
            )
        out.extend(r for r in got.records if r.offset < end)
        if got.next_offset == offset or got.next_offset >= end:
            break
        offset = got.next_offset
    return out[:max_records] if max_records is not None else out
