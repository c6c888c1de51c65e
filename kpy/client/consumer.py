"""Following a topic: start positions, the fetch loop, and (optionally) consumer group
membership with committed offsets.

``Consumer`` reads the partitions of one topic, either named ones (assigned by the caller,
no group) or the ones a consumer group gives it (``group``: the KIP-848 protocol, where the
broker assigns partitions through ConsumerGroupHeartbeat; see ``kpy.client.membership``).
Each partition starts at its committed offset when the group has one, else where ``start``
says (``StartPosition``: beginning, end, an offset, N before the end, or the first record at
or after a timestamp, through ListOffsets). An offset outside the log (OFFSET_OUT_OF_RANGE,
for example after retention deleted it) is reset the same way, an absolute offset to the
nearer end of the log.

``batches()`` yields one ``FetchedPartition`` per partition and fetch, in offset order per
partition, waiting for new records unless ``stop_at_end`` (kcat's ``-e``), which ends the
iteration once every partition's position has reached its end (the high watermark, or the
last stable offset under read_committed). The caller says how far it consumed with
``consumed``; ``commit`` sends those positions to the group (a no-op without one), and
leaving the ``async with`` commits and leaves the group.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass

import trio

from kpy.client.client import Client, ClientError, check
from kpy.client.fetch import (
    LEADER_MOVED,
    READ_COMMITTED,
    RETRY_BACKOFF_S,
    FetchedPartition,
    fetch_partitions,
)
from kpy.client.membership import GroupMember
from kpy.client.offsets import list_offsets

OFFSET_OUT_OF_RANGE = 1
EMPTY_HEARTBEAT_SECONDS = 1.0
EMPTY_HEARTBEATS = 4


@dataclass(frozen=True, slots=True)
class StartPosition:
    """Where reading starts: ``kind`` is "beginning", "end", "offset" (``value`` itself),
    "tail" (``value`` records before the end) or "timestamp" (``value`` in ms)."""

    kind: str
    value: int = 0

    @classmethod
    def parse(cls, text: str) -> StartPosition:
        """kcat's ``-o`` forms: ``beginning``, ``end``, ``OFFSET``, ``-N``, ``@TIMESTAMP``."""
        text = text.strip()
        if text in ("beginning", "earliest", "end", "latest"):
            return cls("beginning" if text in ("beginning", "earliest") else "end")
        if re.fullmatch(r"@\d+", text):
            return cls("timestamp", int(text[1:]))
        if re.fullmatch(r"-\d+", text):
            return cls("tail", int(text[1:]))
        if re.fullmatch(r"\d+", text):
            return cls("offset", int(text))
        raise ValueError(
            f"start offset {text!r} is not beginning, end, OFFSET, -N or @TIMESTAMP_MS"
        )


async def _offsets(
    client: Client, topic: str, partitions: list[int], spec: str | int, isolation_level: int = 0
) -> dict[int, int]:
    """``list_offsets`` (kpy.client.offsets) for one topic, keyed by partition."""
    found = await list_offsets(client, {topic: partitions}, spec, isolation_level=isolation_level)
    return {p: found[(topic, p)] for p in partitions}


async def resolve_start(
    client: Client,
    topic: str,
    partitions: list[int],
    start: StartPosition,
    isolation_level: int = 0,
) -> dict[int, int]:
    """The offset ``start`` means for each of ``partitions``."""
    if not partitions:
        return {}
    if start.kind == "beginning":
        return await _offsets(client, topic, partitions, "earliest")
    ends = await _offsets(client, topic, partitions, "latest", isolation_level)
    if start.kind == "end":
        return ends
    if start.kind == "timestamp":
        found = await _offsets(client, topic, partitions, start.value)
        return {p: found[p] if found[p] >= 0 else ends[p] for p in partitions}
    starts = await _offsets(client, topic, partitions, "earliest")
    if start.kind == "tail":
        return {p: max(starts[p], ends[p] - start.value) for p in partitions}
    return {p: min(max(start.value, starts[p]), ends[p]) for p in partitions}


class Consumer:
    """Reads one topic (see the module's docstring). Use as ``async with Consumer(...)``."""

    def __init__(
        self,
        client: Client,
        topic: str,
        *,
        start: StartPosition | None = None,
        partitions: list[int] | None = None,
        group: str | None = None,
        isolation_level: int = 0,
        max_wait_ms: int = 500,
        max_bytes: int = 1 << 20,
    ) -> None:
        if group is not None and partitions is not None:
            raise ValueError("a group member is assigned its partitions; do not name them")
        self.client = client
        self.topic = topic
        self.start = start or StartPosition("end")
        self.isolation_level = isolation_level
        self.max_wait_ms = max_wait_ms
        self.max_bytes = max_bytes
        self._named = partitions
        self.member = GroupMember(client, group, topic) if group is not None else None
        self.fetch_positions: dict[int, int] = {}  # partition -> next offset to fetch
        self.positions: dict[int, int] = {}  # partition -> next offset the caller consumed to
        self._ends: dict[int, int] = {}  # partition -> end seen in the last answer
        self._stopping = False

    async def __aenter__(self) -> Consumer:
        count = await _partitions_of(self.client, self.topic)
        if self._named is not None:
            for p in self._named:
                if not 0 <= p < count:
                    raise ClientError(3, f"topic {self.topic!r} has no partition {p}")
            await self._add(list(self._named), {})
        elif self.member is None:
            await self._add(list(range(count)), {})
        else:
            await self._rebalance(await self.member.join())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.member is None:
            return
        with trio.CancelScope(shield=True), trio.move_on_after(10):
            try:
                await self.commit()
            finally:
                await self.member.leave()

    def stop(self) -> None:
        """End ``batches()`` after the fetch in progress (at most ``max_wait_ms``): unlike a
        cancellation, no request is cut in half, so offsets can still be committed."""
        self._stopping = True

    @property
    def assigned(self) -> list[int]:
        return sorted(self.fetch_positions)

    def consumed(self, partition: int, next_offset: int) -> None:
        """The caller has handled ``partition`` up to (not including) ``next_offset``."""
        if partition in self.positions:
            self.positions[partition] = next_offset

    async def commit(self) -> None:
        """Commit the consumed positions of the assigned partitions (group members only)."""
        if self.member is not None and self.positions:
            await self.member.commit(dict(self.positions))

    async def _add(self, partitions: list[int], committed: dict[int, int]) -> None:
        todo = [p for p in partitions if p not in committed]
        starts = await resolve_start(
            self.client, self.topic, todo, self.start, self.isolation_level
        )
        starts.update(committed)
        for p in partitions:
            self.fetch_positions[p] = self.positions[p] = starts[p]
            self._ends.pop(p, None)

    async def _rebalance(self, assignment: list[int] | None) -> None:
        """Take a new assignment from the group: commit and drop revoked partitions, start
        new ones at their committed offsets."""
        if assignment is None:
            return
        revoked = [p for p in self.fetch_positions if p not in assignment]
        if revoked:
            await self.member.commit({p: self.positions[p] for p in revoked})
            for p in revoked:
                del self.fetch_positions[p], self.positions[p]
                self._ends.pop(p, None)
            self.member.heartbeat_soon()  # tell the coordinator they are free at once
        added = [p for p in assignment if p not in self.fetch_positions]
        if added:
            committed = await self.member.committed(added)
            await self._add(added, {p: o for p, o in committed.items() if o >= 0})
        self.member.owned = self.assigned
        if not self.fetch_positions:
            # Nothing yet: Kafka's coordinator may not know a just-created topic at the first
            # heartbeat, so ask again within a second rather than the full interval.
            self.member.heartbeat_soon(EMPTY_HEARTBEAT_SECONDS)

    async def _reset(self, partition: int) -> None:
        start = self.start
        if start.kind == "offset":  # an absolute offset moves to the nearer end of the log
            low = (await _offsets(self.client, self.topic, [partition], "earliest"))[partition]
            start = StartPosition("beginning" if self.fetch_positions[partition] < low else "end")
        offset = (
            await resolve_start(self.client, self.topic, [partition], start, self.isolation_level)
        )[partition]
        self.fetch_positions[partition] = self.positions[partition] = offset

    def at_end(self) -> bool:
        """Every assigned partition has been read up to its end (as of its last answer)."""
        return all(
            p in self._ends and self.fetch_positions[p] >= self._ends[p]
            for p in self.fetch_positions
        )

    def _settled(self) -> bool:
        """Whether the assignment is worth ending on: a member with no partitions waits a
        few heartbeats (a few seconds) before believing it has none."""
        if self.member is None:
            return True
        return self.member.joined and (
            bool(self.fetch_positions) or self.member.heartbeats >= EMPTY_HEARTBEATS
        )

    async def batches(self, *, stop_at_end: bool = False) -> AsyncIterator[FetchedPartition]:
        """Fetched records, one partition at a time (see the module's docstring)."""
        while not self._stopping:
            if self.member is not None and self.member.heartbeat_due():
                await self._rebalance(await self.member.heartbeat())
            if stop_at_end and self.at_end() and self._settled():
                return
            if not self.fetch_positions:
                await trio.sleep(
                    min(0.5, self.member.seconds_to_heartbeat() if self.member else 0.5)
                )
                continue
            by_leader: dict[int, dict[int, int]] = defaultdict(dict)
            for p, o in self.fetch_positions.items():
                by_leader[await self.client.leader_of(self.topic, p)][p] = o
            # Long polls on several leaders run one after another: split the wait.
            wait = 0 if stop_at_end else self.max_wait_ms // len(by_leader)
            for node, offsets in by_leader.items():
                if self._stopping:
                    return
                answers = await fetch_partitions(
                    self.client,
                    node,
                    self.topic,
                    offsets,
                    max_bytes=self.max_bytes,
                    max_wait_ms=wait,
                    isolation_level=self.isolation_level,
                )
                for p, got in sorted(answers.items()):
                    if p not in self.fetch_positions or self.fetch_positions[p] != offsets[p]:
                        continue  # revoked or moved while this answer was on its way
                    if got.error in LEADER_MOVED:  # retried as long as the consumer runs
                        await trio.sleep(RETRY_BACKOFF_S)
                        await self.client.refresh_metadata([self.topic])
                        continue
                    if got.error == OFFSET_OUT_OF_RANGE:
                        await self._reset(p)
                        continue
                    check(got.error, f"fetching {self.topic}-{p} at offset {offsets[p]}")
                    use_lso = self.isolation_level == READ_COMMITTED and got.last_stable_offset >= 0
                    self._ends[p] = got.last_stable_offset if use_lso else got.high_watermark
                    self.fetch_positions[p] = got.next_offset
                    if got.records and not self._stopping:
                        yield got
                    elif got.next_offset != offsets[p]:  # only control or aborted batches
                        self.consumed(p, got.next_offset)


async def _partitions_of(client: Client, topic: str) -> int:
    await client.refresh_metadata([topic])
    t = client.cluster.topics.get(topic)
    if t is None or not t.partitions:
        raise ClientError(3, f"topic {topic!r} does not exist")
    return len(t.partitions)
