"""LogSegments: the ordered segment list of a log (lookups, replacement) and should_roll."""

from __future__ import annotations

import pytest

from kpy.protocol import records
from kpy.storage.config import LogConfig
from kpy.storage.log_segments import LogSegments, should_roll
from kpy.storage.segment import LogSegment
from tests.storage.helpers import batch


def segment(tmp_path, base: int) -> LogSegment:
    seg = LogSegment(tmp_path, base, index_interval=4096, index_max_bytes=1024, created_ms=0)
    seg.create()
    return seg


def test_lookup_by_offset(tmp_path):
    lst = LogSegments()
    segs = [segment(tmp_path, b) for b in (0, 10, 20)]
    for s in segs:
        lst.add(s)
    assert lst.active is segs[2] and len(lst) == 3
    assert [lst.index_for(o) for o in (0, 9, 10, 19, 20, 99)] == [0, 0, 1, 1, 2, 2]
    assert lst.from_offset(15) == segs[1:]
    assert lst.from_offset(-1) == segs  # below the first segment: from the first
    with pytest.raises(ValueError):
        lst.add(segment(tmp_path, 20))  # base offsets strictly increase


def test_replace_needs_the_same_consecutive_segments(tmp_path):
    lst = LogSegments()
    segs = [segment(tmp_path, b) for b in (0, 10, 20, 30)]
    lst.reset(segs)
    snapshot = lst.snapshot()
    new = segment(tmp_path / "..", 0)
    with pytest.raises(ValueError):
        lst.replace([segs[0], segs[2]], new)  # not consecutive
    lst.replace(segs[:2], new)
    assert lst.snapshot() == [new, segs[2], segs[3]]
    assert snapshot == segs  # a snapshot is a copy
    assert lst.index_for(15) == 0 and lst.index_for(25) == 1
    with pytest.raises(ValueError):
        lst.replace(segs[:2], new)  # gone already
    assert lst.contains_all([new, segs[3]]) and not lst.contains_all([segs[0]])


def test_should_roll(tmp_path):
    seg = segment(tmp_path, 0)
    data = batch([b"x" * 100])
    h = records.read_header(data)
    config = LogConfig(segment_bytes=2 * len(data) + 1, segment_ms=1000)
    assert not should_roll(seg, 10_000, h, config, 0)  # an empty segment takes anything
    seg.append(data, [h])
    assert not should_roll(seg, len(data), h, config, 1000)
    assert should_roll(seg, len(data) + 2, h, config, 0)  # would outgrow segment.bytes
    assert should_roll(seg, len(data), h, config, 1001)  # older than segment.ms
    seg.next_offset = 2**31  # relative offsets would not fit the index
    assert should_roll(seg, len(data), h, config, 0)
