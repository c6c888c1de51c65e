"""retention.plan_retention: which segments retention deletes, from plain numbers (no files)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kpy.storage.config import LogConfig
from kpy.storage.retention import SegmentStats, plan_retention

NOW = 1_700_000_000_000
HOUR = 3_600_000


def segs(*spec: tuple[int, int, int]) -> list[SegmentStats]:
    """(base offset, size, age in ms) per segment, oldest first; the last is active."""
    return [SegmentStats(base, size, NOW - age) for base, size, age in spec]


def plan(segments, *, start=0, **config):
    return plan_retention(segments, log_start_offset=start, now_ms=NOW, config=LogConfig(**config))


def test_nothing_for_a_compact_only_log():
    old = segs((0, 100, 10 * HOUR), (10, 100, 10 * HOUR), (20, 100, 10 * HOUR))
    p = plan(old, start=20, retention_ms=HOUR, cleanup_policy=("compact",))
    assert p.reasons == [] and not p.roll_active
    assert plan(old, retention_ms=HOUR, cleanup_policy=("compact", "delete")).reasons


def test_segments_below_the_log_start_offset_go_first():
    s = segs((0, 100, 0), (10, 100, 0), (20, 100, 0), (30, 0, 0))
    assert plan(s, start=20, retention_ms=-1).reasons == ["log start offset"] * 2
    # A segment holding the start offset stays; so does the active one, whatever the start.
    assert plan(s, start=19, retention_ms=-1).reasons == ["log start offset"]
    assert len(plan(s, start=99, retention_ms=-1).reasons) == 3


def test_retention_ms_stops_at_the_first_segment_not_expired():
    s = segs((0, 100, 3 * HOUR), (10, 100, 2 * HOUR), (20, 100, HOUR // 2), (30, 100, 3 * HOUR))
    p = plan(s, retention_ms=HOUR)
    assert p.reasons == ["retention.ms=3600000"] * 2 and not p.roll_active


def test_exactly_retention_ms_old_is_kept():
    s = segs((0, 100, HOUR), (10, 100, 0))
    assert plan(s, retention_ms=HOUR).reasons == []
    assert plan(s, retention_ms=HOUR - 1).reasons == ["retention.ms=3599999"]


def test_an_expired_active_segment_is_rolled_and_deleted_once_all_older_went():
    s = segs((0, 100, 3 * HOUR), (10, 100, 2 * HOUR))
    p = plan(s, retention_ms=HOUR)
    assert p.reasons == ["retention.ms=3600000"] * 2 and p.roll_active


def test_an_expired_active_segment_stays_while_an_older_one_is_not_expired():
    # Timestamps need not grow: an old segment with a newer record holds the active one.
    s = segs((0, 100, 0), (10, 100, 3 * HOUR))
    p = plan(s, retention_ms=HOUR)
    assert p.reasons == [] and not p.roll_active


def test_an_empty_active_segment_is_not_rolled():
    p = plan(segs((0, 0, 5 * HOUR)), retention_ms=HOUR)
    assert p.reasons == [] and not p.roll_active


def test_retention_bytes_keeps_at_least_that_much():
    s = segs((0, 100, 0), (10, 100, 0), (20, 100, 0), (30, 50, 0))
    assert plan(s, retention_bytes=250).reasons == ["retention.bytes=250"]
    assert plan(s, retention_bytes=150).reasons == ["retention.bytes=150"] * 2
    assert plan(s, retention_bytes=0).reasons == ["retention.bytes=0"] * 3  # never the active
    assert plan(s, retention_bytes=-1).reasons == []


def test_rules_add_up_in_order():
    s = segs((0, 100, 0), (10, 100, 3 * HOUR), (20, 100, 0), (30, 100, 0), (40, 10, 0))
    p = plan(s, start=10, retention_ms=HOUR, retention_bytes=110)
    assert p.reasons == ["log start offset", "retention.ms=3600000", "retention.bytes=110"]


def test_no_segments_no_plan():
    assert plan([], retention_ms=0, retention_bytes=0).reasons == []


stats = st.lists(
    st.tuples(st.integers(0, 1000), st.integers(0, 10 * HOUR)), min_size=1, max_size=12
).map(lambda xs: [SegmentStats(i * 10, size, NOW - age) for i, (size, age) in enumerate(xs)])


@given(
    stats,
    st.integers(0, 150),
    st.integers(-1, 5 * HOUR),
    st.integers(-1, 5000),
)
def test_deletes_a_prefix_and_the_active_segment_only_by_rolling(
    segments, start, retention_ms, retention_bytes
):
    p = plan(segments, start=start, retention_ms=retention_ms, retention_bytes=retention_bytes)
    if p.roll_active:
        assert len(p.reasons) == len(segments) and segments[-1].size > 0
    else:
        assert len(p.reasons) < len(segments)
    for s, reason in zip(segments, p.reasons, strict=False):
        if reason.startswith("retention.ms"):
            assert NOW - s.largest_timestamp > retention_ms
        elif reason == "log start offset":
            assert s.base_offset < start
    kept = segments[len(p.reasons) :]
    if retention_bytes >= 0 and not p.roll_active:
        assert sum(s.size for s in kept[1:]) < retention_bytes or len(kept) == 1
