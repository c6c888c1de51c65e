"""Stateful property test against a model that also tracks segments: append, read with
max_bytes/min_one/max_offset, roll, retention by time and size (controlled clock),
DeleteRecords, truncation, clean and unclean restarts."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kpy.protocol import records
from kpy.storage.log import LogConfig
from kpy.storage.manager import LogManager
from tests.storage.conftest import TOPIC_ID, Clock, make_batch

SEGMENT_BYTES = 700
RETENTION_MS = 10_000


@dataclass
class MBatch:
    base: int
    count: int
    size: int
    ts: int
    data: bytes

    @property
    def next(self) -> int:
        return self.base + self.count


@dataclass
class MSegment:
    base: int
    batches: list[MBatch] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(b.size for b in self.batches)

    @property
    def max_ts(self) -> int:
        return max((b.ts for b in self.batches), default=-1)


class SegmentModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="kpy-segmodel-"))
        self.clock = Clock()
        self.config = LogConfig(
            segment_bytes=SEGMENT_BYTES,
            index_interval_bytes=200,
            retention_ms=-1,
            retention_bytes=-1,
        )
        self.mgr = LogManager([str(self.dir)], default_config=self.config, clock=self.clock)
        self.mgr.load()
        self.log = self.mgr.create_log("m", 0, TOPIC_ID, self.config)
        self.segments = [MSegment(0)]
        self.start = 0

    def teardown(self) -> None:
        self.mgr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- model helpers -------------------------------------------------------------------
    @property
    def leo(self) -> int:
        last = self.segments[-1]
        return last.batches[-1].next if last.batches else last.base

    def batches(self) -> list[MBatch]:
        return [b for s in self.segments for b in s.batches]

    def _model_roll(self) -> None:
        if self.segments[-1].batches:
            self.segments.append(MSegment(self.leo))

    def _drop_below_start(self) -> None:
        while len(self.segments) > 1 and self.segments[1].base <= self.start:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        self.segments.pop(0)
        self.start = max(self.start, self.segments[0].base)

    # -- rules -----------------------------------------------------------------------------
    @rule(n=st.integers(1, 6), size=st.integers(1, 150))
    def append(self, n, size):
        data = make_batch(n, value=b"x" * size, timestamp=int(self.clock() * 1000))
        ts = records.read_header(data).max_timestamp
        if self.segments[-1].batches and self.segments[-1].size + len(data) > SEGMENT_BYTES:
            self._model_roll()
        res = self.log.append(data, leader_epoch=0)
        assert (res.base_offset, res.last_offset) == (self.leo, self.leo + n - 1)
        stored = bytearray(data)
        records.set_offset_and_epoch(stored, 0, self.leo, 0)
        self.segments[-1].batches.append(MBatch(self.leo, n, len(data), ts, bytes(stored)))

    @rule()
    def roll(self):
        self.log.roll()
        self._model_roll()

    @rule(ms=st.integers(0, 8_000))
    def advance_clock(self, ms):
        self.clock.advance(ms / 1000)

    @rule()
    def retention_by_time(self):
        now = int(self.clock() * 1000)
        self.log.config.retention_ms = RETENTION_MS
        try:
            self.log.apply_retention(now)
        finally:
            self.log.config.retention_ms = -1
        self._drop_below_start()
        while len(self.segments) > 1 and now - self.segments[0].max_ts > RETENTION_MS:
            self._drop_oldest()
        active = self.segments[-1]
        if active.batches and now - active.max_ts > RETENTION_MS:
            self._model_roll()
            self._drop_oldest()

    @rule(limit=st.integers(0, 3 * SEGMENT_BYTES))
    def retention_by_size(self, limit):
        self.log.config.retention_bytes = limit
        try:
            self.log.apply_retention(int(self.clock() * 1000))
        finally:
            self.log.config.retention_bytes = -1
        self._drop_below_start()
        total = sum(s.size for s in self.segments)
        while len(self.segments) > 1 and total - self.segments[0].size >= limit:
            total -= self.segments[0].size
            self._drop_oldest()

    @precondition(lambda self: self.leo > self.start)
    @rule(data=st.data())
    def delete_records(self, data):
        offset = data.draw(st.integers(self.start, self.leo))
        self.log.delete_records_before(offset)
        self.start = max(self.start, offset)
        self._drop_below_start()

    @precondition(lambda self: self.batches())
    @rule(data=st.data())
    def truncate(self, data):
        bounds = [b.base for b in self.batches() if b.base >= self.start] + [self.leo]
        offset = data.draw(st.sampled_from(bounds))
        self.log.truncate_to(offset)
        if offset >= self.leo:
            return
        while len(self.segments) > 1 and self.segments[-1].base >= offset:
            self.segments.pop()
        last = self.segments[-1]
        last.batches = [b for b in last.batches if b.base < offset]

    @rule(data=st.data(), max_bytes=st.integers(0, 2 * SEGMENT_BYTES), min_one=st.booleans())
    def read(self, data, max_bytes, min_one):
        offset = data.draw(st.integers(self.start, self.leo))
        upper = data.draw(st.integers(offset, self.leo))
        got = self.log.read(offset, max_bytes, max_offset=upper, min_one=min_one).records.read()
        seg = next((s for s in self.segments if s.batches and s.batches[-1].next > offset), None)
        if seg is None or offset >= upper:
            assert got == b""
            return
        candidates = [b for b in seg.batches if b.next > offset and b.base < upper]
        expected: list[MBatch] = []
        for b in candidates:
            if sum(x.size for x in expected) + b.size > max_bytes:
                if not expected and min_one:
                    expected.append(b)
                break
            expected.append(b)
        assert got == b"".join(b.data for b in expected)

    @rule(clean=st.booleans())
    def restart(self, clean):
        if clean:
            self.mgr.close()
        else:
            self.mgr.checkpoint()
            self.mgr.close(clean=False)
        self.mgr = LogManager([str(self.dir)], default_config=self.config, clock=self.clock)
        self.mgr.load()
        self.log = self.mgr.get_log("m", 0)

    @invariant()
    def offsets_and_segments_match(self):
        assert self.log.log_end_offset == self.leo
        assert self.log.log_start_offset == self.start
        assert [s.base_offset for s in self.log.segments] == [s.base for s in self.segments]
        assert [s.size for s in self.log.segments] == [s.size for s in self.segments]


TestSegmentModel = SegmentModel.TestCase
TestSegmentModel.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
