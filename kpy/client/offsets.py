"""Partition offsets by ListOffsets, shared by the topic, group and consume commands.

``list_offsets`` asks each partition's leader (as Kafka's clients do: only the leader
answers ListOffsets) for the earliest offset (the log start offset), the latest (the high
watermark, or the last stable offset with ``isolation_level=1``) or the first offset whose
timestamp is at or after a time in milliseconds. ``watermarks`` gives both ends at once.
A leader that moved, or a partition not served yet, is retried after a metadata refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import trio

from kpy.client.client import Client, ClientError, check
from kpy.protocol.messages.list_offsets import ListOffsetsRequest

EARLIEST = -2  # Kafka's special timestamps in ListOffsets
LATEST = -1
CONSUMER_REPLICA_ID = -1  # a client, not a follower fetching for a replica

# NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION (just after
# creation), FENCED/UNKNOWN_LEADER_EPOCH, OFFSET_NOT_AVAILABLE (a new leader catching up).
RETRIABLE = frozenset({3, 5, 6, 74, 75, 78})
ATTEMPTS = 10

Spec = Literal["earliest", "latest"] | int
Partitions = Mapping[str, Iterable[int] | None] | Iterable[tuple[str, int]]
TopicPartition = tuple[str, int]


def spec_timestamp(spec: Spec) -> int:
    """The ListOffsets timestamp for ``spec``: "earliest" -2, "latest" -1, else a time in ms."""
    if spec == "earliest":
        return EARLIEST
    if spec == "latest":
        return LATEST
    if isinstance(spec, int) and not isinstance(spec, bool):
        return spec
    raise ValueError(f"offset spec {spec!r} is not 'earliest', 'latest' or a timestamp in ms")


async def resolve_partitions(client: Client, partitions: Partitions) -> list[TopicPartition]:
    """(topic, partition) pairs; a topic mapped to None means all its partitions (from
    metadata; a topic that does not exist raises UNKNOWN_TOPIC_OR_PARTITION)."""
    if not isinstance(partitions, Mapping):
        return [(t, int(p)) for t, p in partitions]
    out: list[TopicPartition] = []
    everything = [t for t, ps in partitions.items() if ps is None]
    if everything:
        answer = await client.metadata(everything)
        found = {t.name: t for t in answer.topics}
        for name in everything:
            t = found.get(name)
            check(3 if t is None else t.error_code, f"topic {name!r}")
    for name, ps in partitions.items():
        if ps is None:
            indexes = sorted(p.partition_index for p in found[name].partitions)
            out.extend((name, p) for p in indexes)
        else:
            out.extend((name, int(p)) for p in ps)
    return out


async def list_offsets(
    client: Client, partitions: Partitions, spec: Spec = "latest", *, isolation_level: int = 0
) -> dict[TopicPartition, int]:
    """The offset ``spec`` names in each partition. For a timestamp, -1 where no record has a
    timestamp at or after it (Kafka's answer). Errors other than a moving leader raise
    ``ClientError`` naming the partition."""
    timestamp = spec_timestamp(spec)
    order = wanted = await resolve_partitions(client, partitions)
    result: dict[TopicPartition, int] = {}
    for attempt in range(ATTEMPTS):
        failed: dict[TopicPartition, int] = {}
        by_leader: dict[int, list[TopicPartition]] = {}
        for tp in wanted:
            try:
                by_leader.setdefault(await client.leader_of(*tp), []).append(tp)
            except ClientError as exc:
                # Fresh metadata is the authority on whether a partition exists: only a
                # missing leader (LEADER_NOT_AVAILABLE) is worth waiting for.
                if exc.code != 5:
                    raise
                failed[tp] = exc.code
        for leader, tps in by_leader.items():
            answer = await client.send(_request(tps, timestamp, isolation_level), node=leader)
            for t in answer.topics:
                for p in t.partitions:
                    tp = (t.name, p.partition_index)
                    if p.error_code in RETRIABLE:
                        failed[tp] = p.error_code
                        continue
                    check(p.error_code, f"ListOffsets for {t.name}-{p.partition_index}")
                    result[tp] = _offset_of(p)
        if not failed:
            return {tp: result[tp] for tp in order}
        if attempt == ATTEMPTS - 1:
            tp, code = next(iter(failed.items()))
            check(code, f"ListOffsets for {tp[0]}-{tp[1]}")
        wanted = [tp for tp in wanted if tp in failed]  # still to ask, in the caller's order
        await trio.sleep(0.05 * (attempt + 1))
        await client.refresh_metadata(sorted({t for t, _ in wanted}))
    raise AssertionError("not reached")


async def watermarks(
    client: Client, topics: Iterable[str] | Partitions, *, isolation_level: int = 0
) -> dict[TopicPartition, tuple[int, int]]:
    """(log start offset, high watermark) of every partition of ``topics`` (names, or the
    shapes ``list_offsets`` takes)."""
    if not isinstance(topics, Mapping):
        items = list(topics)
        if all(isinstance(t, str) for t in items):
            topics = dict.fromkeys(items)
        else:
            topics = items
    wanted = await resolve_partitions(client, topics)
    low = await list_offsets(client, wanted, "earliest")
    high = await list_offsets(client, wanted, "latest", isolation_level=isolation_level)
    return {tp: (low[tp], high[tp]) for tp in wanted}


def _request(tps: list[TopicPartition], timestamp: int, isolation_level: int) -> ListOffsetsRequest:
    topics: dict[str, list[int]] = {}
    for topic, partition in tps:
        topics.setdefault(topic, []).append(partition)
    return ListOffsetsRequest(
        replica_id=CONSUMER_REPLICA_ID,
        isolation_level=isolation_level,
        topics=[
            ListOffsetsRequest.ListOffsetsTopic(
                name=name,
                partitions=[
                    ListOffsetsRequest.ListOffsetsPartition(partition_index=p, timestamp=timestamp)
                    for p in ps
                ],
            )
            for name, ps in topics.items()
        ],
        timeout_ms=30_000,
    )


def _offset_of(p: object) -> int:
    """v0 answers a list of offsets; later versions one offset."""
    old = getattr(p, "old_style_offsets", None)
    if old:
        return old[0]
    return p.offset  # type: ignore[attr-defined]
