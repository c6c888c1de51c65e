"""Writing records to a topic, as a non-idempotent Kafka producer does (kcat's default).

``produce`` places each record (its own ``partition``, else the call's ``partition``, else
the key's murmur2 partition, else one partition for all unkeyed records of the call, picked
at random as the Java client's sticky partitioner picks one per batch), builds one v2 batch
per partition (several when a partition gets more than ``MAX_BATCH_BYTES`` of records:
produce v3+ carries exactly one batch per partition, so each extra batch is another round of
requests), sends one Produce request per leader and returns one ``ProduceResult`` per record
in input order. Records are sent with producer id -1 (no idempotence, no sequence numbers).

A partition whose leader moved (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, and the like,
which Kafka answers before it writes anything) is retried after a metadata refresh; other
per-partition errors are returned in the results, not raised, so a caller can report each
failed record. A topic that does not exist raises ``ClientError``.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field

import trio

from kpy.client.client import Client, ClientError, error_name
from kpy.client.partitioner import partition_for_key
from kpy.protocol import compression as codecs
from kpy.protocol.messages.produce import ProduceRequest
from kpy.protocol.records import Record, build_batch

ACKS = {"0": 0, "1": 1, "all": -1, "-1": -1}
TIMEOUT_MS = 30_000
AUTO_CREATE_WAIT_S = 3.0  # how long a producer waits for a topic it asked the broker to create
# Under the default max.message.bytes (1 MiB + 12) with room for the batch header, so a
# batch of small records is never refused for its size even uncompressed.
MAX_BATCH_BYTES = 1_000_000
# Errors Kafka answers before appending anything: the same batch can be sent again.
_RETRIABLE = {
    3,  # UNKNOWN_TOPIC_OR_PARTITION (a new topic's metadata not yet everywhere)
    5,  # LEADER_NOT_AVAILABLE
    6,  # NOT_LEADER_OR_FOLLOWER
    7,  # REQUEST_TIMED_OUT
    19,  # NOT_ENOUGH_REPLICAS
    74,  # FENCED_LEADER_EPOCH
    75,  # UNKNOWN_LEADER_EPOCH
}
_ATTEMPTS = 5


@dataclass(slots=True)
class ProducerRecord:
    """A record to write; ``partition`` None lets ``produce`` choose."""

    value: bytes | None
    key: bytes | None = None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    partition: int | None = None
    timestamp_ms: int | None = None


@dataclass(slots=True)
class ProduceResult:
    """Where one record went: its offset (None with acks=0, which gets no answer), or the
    error (Kafka's name, then the broker's message) that kept it out."""

    topic: str
    partition: int
    offset: int | None
    error: str | None = None


def codec_id(name: str | int) -> int:
    """A compression codec by Kafka's name (``none gzip snappy lz4 zstd``) or id."""
    if isinstance(name, int):
        return name
    try:
        return codecs.CODEC_IDS[name]
    except KeyError:
        raise ValueError(
            f"unknown compression {name!r} (one of {', '.join(codecs.CODEC_IDS)})"
        ) from None


async def partition_count(client: Client, topic: str, *, auto_create: bool = False) -> int:
    """How many partitions ``topic`` has; ClientError UNKNOWN_TOPIC_OR_PARTITION when it
    does not exist. With ``auto_create`` the broker is asked to create it (as Kafka's
    producers ask, when its auto.create.topics.enable allows) and given AUTO_CREATE_WAIT_S to
    report it (Kafka answers the request that creates a topic as if it did not exist)."""
    t = client.cluster.topics.get(topic)
    deadline = trio.current_time() + (AUTO_CREATE_WAIT_S if auto_create else 0)
    while t is None or not t.partitions:
        await client.refresh_metadata([topic], auto_create=auto_create)
        t = client.cluster.topics.get(topic)
        if t is not None and t.partitions:
            break
        if trio.current_time() >= deadline:
            raise ClientError(3, f"topic {topic!r} does not exist")
        await trio.sleep(0.05)
    return len(t.partitions)


async def produce(
    client: Client,
    topic: str,
    records: list[ProducerRecord],
    partition: int | None = None,
    *,
    compression: str | int = "none",
    acks: int | str = -1,
    timeout_ms: int = TIMEOUT_MS,
    auto_create: bool = False,
) -> list[ProduceResult]:
    """Write ``records`` to ``topic`` and return one result per record, in order (see the
    module's docstring for placement, batching and retries). ``auto_create``: a missing
    topic is created where the broker allows it (partition_count)."""
    codec = codec_id(compression)
    acks = ACKS[acks] if isinstance(acks, str) else acks
    if not records:
        return []
    count = await partition_count(client, topic, auto_create=auto_create)
    sticky = random.randrange(count)
    by_partition: dict[int, list[int]] = defaultdict(list)  # partition -> record indexes
    for i, r in enumerate(records):
        p = r.partition if r.partition is not None else partition
        if p is None:
            p = partition_for_key(r.key, count) if r.key is not None else sticky
        if not 0 <= p < count:
            raise ClientError(3, f"topic {topic!r} has no partition {p} (it has {count})")
        by_partition[p].append(i)
    results: list[ProduceResult | None] = [None] * len(records)
    # Round k sends the k-th batch of every partition, so each partition's order holds.
    chunks = {p: _chunks(records, idx) for p, idx in by_partition.items()}
    for round_no in range(max(len(c) for c in chunks.values())):
        todo = {p: c[round_no] for p, c in chunks.items() if round_no < len(c)}
        await _send_round(client, topic, records, todo, codec, acks, timeout_ms, results)
    return [r for r in results if r is not None]


def _chunks(records: list[ProducerRecord], indexes: list[int]) -> list[list[int]]:
    out: list[list[int]] = [[]]
    size = 0
    for i in indexes:
        r = records[i]
        n = len(r.key or b"") + len(r.value or b"") + 16
        n += sum(len(k) + len(v or b"") + 4 for k, v in r.headers)
        if out[-1] and size + n > MAX_BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(i)
        size += n
    return out


def _batch(records: list[ProducerRecord], indexes: list[int], codec: int) -> bytes:
    now = int(time.time() * 1000)
    stamps = [records[i].timestamp_ms for i in indexes]
    base = min((t for t in stamps if t is not None), default=now)
    recs = [
        Record(
            records[i].key,
            records[i].value,
            list(records[i].headers),
            offset_delta=n,
            timestamp_delta=(t if t is not None else now) - base,
        )
        for n, (i, t) in enumerate(zip(indexes, stamps))
    ]
    return bytes(build_batch(recs, base_timestamp=base, compression=codec))


async def _send_round(
    client: Client,
    topic: str,
    records: list[ProducerRecord],
    todo: dict[int, list[int]],
    codec: int,
    acks: int,
    timeout_ms: int,
    results: list[ProduceResult | None],
) -> None:
    batches = {p: _batch(records, idx, codec) for p, idx in todo.items()}
    pending = dict(todo)
    for attempt in range(_ATTEMPTS):
        by_leader: dict[int, list[int]] = defaultdict(list)
        for p in pending:
            by_leader[await client.leader_of(topic, p)].append(p)
        send = _Send(client, topic, batches, pending, acks, timeout_ms, results)
        send.last_attempt = attempt + 1 == _ATTEMPTS
        async with trio.open_nursery() as nursery:
            for node, partitions in by_leader.items():
                nursery.start_soon(send.to, node, partitions)
        if not send.retry:
            return
        pending = send.retry
        await trio.sleep(0.1 * (attempt + 1))
        await client.refresh_metadata([topic])


@dataclass
class _Send:
    """One attempt at sending a round's batches: fills ``results``, or ``retry`` with the
    partitions to send again."""

    client: Client
    topic: str
    batches: dict[int, bytes]
    pending: dict[int, list[int]]
    acks: int
    timeout_ms: int
    results: list[ProduceResult | None]
    last_attempt: bool = False
    retry: dict[int, list[int]] = field(default_factory=dict)

    async def to(self, node: int, partitions: list[int]) -> None:
        topic, pending, results = self.topic, self.pending, self.results
        request = ProduceRequest(
            acks=self.acks,
            timeout_ms=self.timeout_ms,
            topic_data=[
                ProduceRequest.TopicProduceData(
                    name=topic,
                    partition_data=[
                        ProduceRequest.PartitionProduceData(index=p, records=self.batches[p])
                        for p in partitions
                    ],
                )
            ],
        )
        answer = await self.client.send(request, node=node, expect_response=self.acks != 0)
        if answer is None:  # acks=0: the broker does not answer
            for p in partitions:
                for i in pending[p]:
                    results[i] = ProduceResult(topic, p, None)
            return
        for t in answer.responses:
            for r in t.partition_responses:
                if r.index not in pending:
                    continue
                if r.error_code in _RETRIABLE and not self.last_attempt:
                    self.retry[r.index] = pending[r.index]
                    continue
                error = None
                if r.error_code:
                    error = error_name(r.error_code)
                    message = r.error_message or "; ".join(
                        e.batch_index_error_message or "" for e in r.record_errors or []
                    )
                    if message:
                        error += f": {message}"
                for n, i in enumerate(pending[r.index]):
                    offset = r.base_offset + n if not r.error_code else None
                    results[i] = ProduceResult(topic, r.index, offset, error)
        for p in partitions:
            if p not in self.retry and results[pending[p][0]] is None:
                for i in pending[p]:
                    results[i] = ProduceResult(topic, p, None, "the broker did not answer")
