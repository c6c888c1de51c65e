"""The ordered segment list of one log, the lookups across it, and when the active segment
rolls.

Invariants: base offsets strictly increase from the oldest segment to the newest; the
newest is the active segment (the only one appended to); an open log always has one.
``bases`` mirrors the base offsets so that the segment holding an offset is a bisect.

Not thread-safe on its own: the owning Log holds its lock around every call, and hands
other threads copies (``snapshot``), never this object.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from kpy.protocol.primitives import FileRegion
from kpy.protocol.records import BatchHeader
from kpy.storage.config import LogConfig
from kpy.storage.segment import LogSegment
from kpy.storage.txn_index import AbortedTxn


class LogSegments:
    def __init__(self) -> None:
        self._segments: list[LogSegment] = []
        self._bases: list[int] = []

    def __len__(self) -> int:
        return len(self._segments)

    def __iter__(self) -> Iterator[LogSegment]:
        return iter(self._segments)

    def __getitem__(self, i: int) -> LogSegment:
        return self._segments[i]

    def snapshot(self) -> list[LogSegment]:
        """A copy of the list, oldest first."""
        return list(self._segments)

    @property
    def active(self) -> LogSegment:
        return self._segments[-1]

    def reset(self, segments: list[LogSegment]) -> None:
        self._segments = list(segments)
        self._bases = [s.base_offset for s in segments]

    def add(self, seg: LogSegment) -> None:
        """Append ``seg`` as the new active segment."""
        if self._bases and seg.base_offset <= self._bases[-1]:
            raise ValueError(f"segment {seg.base_offset} is not after {self._bases[-1]}")
        self._segments.append(seg)
        self._bases.append(seg.base_offset)

    def pop_oldest(self) -> LogSegment:
        self._bases.pop(0)
        return self._segments.pop(0)

    def pop_newest(self) -> LogSegment:
        self._bases.pop()
        return self._segments.pop()

    def replace(self, old: list[LogSegment], new: LogSegment) -> None:
        """Put ``new`` in place of the consecutive segments ``old``; ValueError if they are
        no longer there as they were."""
        i = self.position(old[0])
        if i < 0 or self._segments[i : i + len(old)] != old:
            raise ValueError(f"segments from {old[0].base_offset} changed while being cleaned")
        self.reset(self._segments[:i] + [new] + self._segments[i + len(old) :])

    def position(self, seg: LogSegment) -> int:
        """Where ``seg`` (this very object) is in the list; -1 when it is not."""
        return next((i for i, s in enumerate(self._segments) if s is seg), -1)

    def contains_all(self, segments: list[LogSegment]) -> bool:
        return all(self.position(s) >= 0 for s in segments)

    def index_for(self, offset: int) -> int:
        """Index of the segment that holds ``offset`` (the first one for offsets below it)."""
        return max(bisect.bisect_right(self._bases, offset) - 1, 0)

    def from_offset(self, offset: int) -> list[LogSegment]:
        """The segment holding ``offset`` and every later one."""
        return self._segments[self.index_for(offset) :]

    def size_in_bytes(self) -> int:
        return sum(s.size for s in self._segments)

    # -- lookups ---------------------------------------------------------------------------------

    def read(
        self, offset: int, max_bytes: int, upper: int, min_one: bool
    ) -> tuple[list[FileRegion], int]:
        """File regions of the whole batches from the one holding ``offset``, below offset
        ``upper``, within ``max_bytes`` (at least one batch when ``min_one``), and the first
        offset they hold (``offset`` when none)."""
        if offset >= upper:
            return [], offset
        for seg in self.from_offset(offset):
            found = seg.find_batch(offset)
            if found is not None:
                position, h = found
                end = seg.read_end(position, max_bytes, upper, min_one)
                regions = [FileRegion(seg.fd, position, end - position)] if end > position else []
                return regions, max(h.base_offset, offset)
        return [], offset

    def offset_for_timestamp(self, timestamp: int, start_offset: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after ``timestamp`` (and at or
        after ``start_offset``)."""
        for seg in self._segments:
            if seg.max_timestamp >= timestamp:
                found = seg.offset_for_timestamp(timestamp, start_offset)
                if found is not None:
                    return found
        return None

    def max_timestamp_entry(self) -> tuple[int, int] | None:
        """The first record holding the largest timestamp, looked for as Kafka does: in the
        first segment with the largest max timestamp (LogSegment.max_timestamp_entry)."""
        best = max(self._segments, key=lambda seg: seg.max_timestamp)  # first of equals
        return best.max_timestamp_entry()

    def aborted_transactions(self, start: int, upper: int) -> list[AbortedTxn]:
        """The transaction index entries overlapping offsets [start, upper)."""
        return [
            t
            for seg in self._segments
            if seg.next_offset > start
            for t in seg.txn_index.collect(start, upper)
        ]


def batches_from(
    segments: list[LogSegment], start: int
) -> Iterator[tuple[LogSegment, int, BatchHeader]]:
    """(segment, position, header) of every batch of ``segments`` (from the one holding
    ``start`` on) with records at or after ``start``."""
    for seg in segments:
        found = seg.find_batch(start) if seg.base_offset <= start else None
        pos = found[0] if found else 0
        for p, h in seg.scan(pos):
            if h.last_offset >= start:
                yield seg, p, h


def should_roll(
    active: LogSegment, size: int, first: BatchHeader, config: LogConfig, now_ms: int
) -> bool:
    """Whether ``size`` more bytes starting with batch ``first`` go to a new segment: the
    active one is not empty and would outgrow segment.bytes, has a full index, could not
    index the batch's offsets, or is older than segment.ms."""
    if active.size == 0:
        return False
    if active.size + size > config.segment_bytes:
        return True
    if active.index_full:
        return True
    # Index entries hold 4-byte offsets relative to the segment's base offset.
    if active.next_offset + first.last_offset_delta - active.base_offset > 2**31 - 1:
        return True
    return now_ms - active.created_ms > config.segment_ms
