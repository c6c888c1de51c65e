"""Log cleaner: latest value per key, offsets kept, tombstones and delete horizons,
transactions, the checkpoint, crash-safe swaps, readers during cleaning."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpy.protocol import records
from kpy.protocol.records import Record
from kpy.storage import cleaner
from kpy.storage.log import Log, LogConfig
from kpy.storage.manager import LogManager
from tests.storage.helpers import Clock

ROOT = Path(__file__).resolve().parents[2]
TS = 1_700_000_000_000


def new_log(path: Path, clock: Clock, **config) -> Log:
    config.setdefault("cleanup_policy", ("compact",))
    config.setdefault("segment_bytes", 400)
    config.setdefault("min_cleanable_dirty_ratio", 0.0)
    config.setdefault("delete_retention_ms", 1000)
    lg = Log(path / "t-0", "t", 0, LogConfig(**config), clock=clock)
    lg.create(uuid.uuid4())
    return lg


def keyed(pairs: list[tuple[bytes, bytes | None]], **kw) -> bytearray:
    recs = [Record(k, v, [], i, i) for i, (k, v) in enumerate(pairs)]
    return records.build_batch(recs, base_timestamp=TS, **kw)


def full_read(lg: Log) -> list[tuple[int, bytes | None, bytes | None, records.BatchHeader]]:
    """(offset, key, value, batch header) of every data record, in log order."""
    out = []
    offset = lg.log_start_offset
    while offset < lg.log_end_offset:
        data = lg.read(offset, 1 << 20).records.read()
        if not data:
            break
        for pos, h in records.iter_batches(data):
            records.validate_batch(data, pos)
            if not h.is_control:
                for r in records.decode_records(data, pos):
                    o = h.base_offset + r.offset_delta
                    if o >= offset:
                        out.append((o, r.key, r.value, h))
            offset = h.next_offset
    return out


def clean_all(lg: Log, now_ms: int, first_dirty: int = 0, max_segments: int = 3) -> int:
    """Passes until the whole cleanable range is clean; returns the first dirty offset."""
    for _ in range(100):
        res = cleaner.clean_log(lg, now_ms, first_dirty, max_segments=max_segments, force=True)
        if res is None or res.first_dirty == first_dirty:
            return first_dirty
        first_dirty = res.first_dirty
    raise AssertionError("cleaning did not converge")


ops = st.lists(
    st.lists(
        st.tuples(st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"f"]), st.booleans()),
        min_size=1,
        max_size=5,
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops, max_segments=st.integers(1, 4))
def test_property_latest_value_per_key(tmp_path_factory, ops, max_segments):
    clock = Clock()
    lg = new_log(tmp_path_factory.mktemp("c"), clock)
    latest: dict[bytes, bytes | None] = {}
    n = 0
    for batch_ops in ops:
        pairs = []
        for key, delete in batch_ops:
            value = None if delete else b"%s-%d" % (key, n)
            n += 1
            pairs.append((key, value))
            latest[key] = value
        lg.append(keyed(pairs), leader_epoch=0)
    lg.roll()
    leo = lg.log_end_offset
    now = int(clock() * 1000)
    clean_all(lg, now, max_segments=max_segments)
    got = full_read(lg)
    offsets = [o for o, *_ in got]
    assert offsets == sorted(set(offsets)), "offsets must increase strictly"
    assert lg.log_end_offset == leo
    seen = {k: v for _, k, v, _ in got}
    assert seen == latest  # tombstones still inside delete.retention.ms
    assert len(got) == len(latest), "one record per key"
    # Past the delete horizon the tombstones go; live keys keep their latest value.
    clock.advance(2)
    clean_all(lg, int(clock() * 1000), max_segments=max_segments)
    got = full_read(lg)
    assert {k: v for _, k, v, _ in got} == {k: v for k, v in latest.items() if v is not None}
    assert all(v is not None for _, _, v, _ in got)
    lg.close()


def test_tombstone_gets_delete_horizon_then_goes(tmp_path):
    clock = Clock()
    lg = new_log(tmp_path, clock, delete_retention_ms=5000)
    lg.append(keyed([(b"a", b"1"), (b"b", b"2")]), leader_epoch=0)
    lg.append(keyed([(b"a", None)]), leader_epoch=0)
    lg.roll()
    now = int(clock() * 1000)
    clean_all(lg, now)
    got = full_read(lg)
    assert [(o, k, v) for o, k, v, _ in got] == [(1, b"b", b"2"), (2, b"a", None)]
    h = got[1][3]
    assert h.has_delete_horizon and h.base_timestamp == now + 5000
    assert not got[0][3].has_delete_horizon
    clock.advance(3)
    clean_all(lg, int(clock() * 1000))
    assert len(full_read(lg)) == 2  # horizon not reached
    clock.advance(3)
    clean_all(lg, int(clock() * 1000))
    assert [(o, k, v) for o, k, v, _ in full_read(lg)] == [(1, b"b", b"2")]


def test_active_segment_and_min_lag_are_not_cleaned(tmp_path):
    clock = Clock(TS / 1000 + 10)
    lg = new_log(tmp_path, clock, min_compaction_lag_ms=60_000)
    for i in range(20):
        lg.append(keyed([(b"k", b"v%d" % i)]), leader_epoch=0)
    assert cleaner.clean_log(lg, int(clock() * 1000), 0, force=True) is None
    clock.advance(120)
    cleaner.clean_log(lg, int(clock() * 1000), 0, force=True)
    got = full_read(lg)
    # The active segment keeps its records; the cleaned ones only their latest.
    active = [o for o, *_ in got if o >= lg.active.base_offset]
    assert [o for o, *_ in got] == [active[0] - 1, *active]
    assert got[-1][2] == b"v19"


def test_dirty_ratio_and_checkpoint(tmp_path):
    clock = Clock()
    mgr = LogManager([str(tmp_path)], clock=clock)
    config = LogConfig(
        cleanup_policy=("compact",), segment_bytes=400, min_cleanable_dirty_ratio=0.5
    )
    lg = mgr.create_log("t", 0, uuid.uuid4(), config)
    for i in range(30):
        lg.append(keyed([(b"k%d" % (i % 3), b"v%d" % i)]), leader_epoch=0)
    now = int(clock() * 1000)
    assert mgr.clean_if_needed(now) == 1
    text = (tmp_path / cleaner.CHECKPOINT).read_text()
    assert "t 0 " in text
    first_dirty = mgr.cleaner.first_dirty[tmp_path][("t", 0)]  # type: ignore[union-attr]
    assert first_dirty == lg.active.base_offset
    # Nothing new is dirty: no pass.
    assert mgr.clean_if_needed(now) == 0
    latest = {k: v for _, k, v, _ in full_read(lg)}
    assert latest == {b"k0": b"v27", b"k1": b"v28", b"k2": b"v29"}
    mgr.close()


def test_aborted_transactions_dropped_open_ones_kept(tmp_path):
    clock = Clock()
    lg = new_log(tmp_path, clock, segment_bytes=10_000)
    pid = 7
    lg.append(keyed([(b"a", b"committed")]), leader_epoch=0)
    lg.append(
        keyed(
            [(b"a", b"aborted")],
            producer_id=pid,
            producer_epoch=0,
            base_sequence=0,
            is_transactional=True,
        ),
        leader_epoch=0,
    )
    lg.append(
        records.build_control_batch(
            records.CONTROL_ABORT, producer_id=pid, producer_epoch=0, timestamp=TS
        ),
        leader_epoch=0,
        origin="coordinator",
    )
    lg.roll()
    pid2 = 8
    lg.append(
        keyed(
            [(b"a", b"open")],
            producer_id=pid2,
            producer_epoch=0,
            base_sequence=0,
            is_transactional=True,
        ),
        leader_epoch=0,
    )
    lg.roll()
    lg.append(keyed([(b"z", b"1")]), leader_epoch=0)
    clean_all(lg, int(clock() * 1000))
    values = [(k, v) for _, k, v, _ in full_read(lg)]
    assert (b"a", b"aborted") not in values
    assert (b"a", b"committed") in values  # the open transaction's value is not yet final
    assert (b"a", b"open") in values


def test_empty_cleaned_batch_keeps_offsets_for_producer(tmp_path):
    clock = Clock()
    lg = new_log(tmp_path, clock, segment_bytes=10_000)
    lg.append(
        keyed([(b"a", b"1")], producer_id=3, producer_epoch=0, base_sequence=0), leader_epoch=0
    )
    lg.append(keyed([(b"a", b"2")]), leader_epoch=0)
    lg.roll()
    clean_all(lg, int(clock() * 1000))
    # The idempotent producer's last batch stays (empty) so its sequence state survives.
    data = lg.read(0, 1 << 20).records.read()
    hs = [h for _, h in records.iter_batches(data)]
    assert [(h.base_offset, h.record_count, h.producer_id) for h in hs] == [(0, 0, 3), (1, 1, -1)]
    dup = lg.append(
        keyed([(b"a", b"1")], producer_id=3, producer_epoch=0, base_sequence=0), leader_epoch=0
    )
    assert dup.duplicate


def test_reopen_after_cleaning(tmp_path):
    clock = Clock()
    mgr = LogManager([str(tmp_path)], clock=clock)
    config = LogConfig(cleanup_policy=("compact",), segment_bytes=400, min_cleanable_dirty_ratio=0)
    lg = mgr.create_log("t", 0, uuid.uuid4(), config)
    for i in range(50):
        lg.append(keyed([(b"k%d" % (i % 4), b"v%d" % i)]), leader_epoch=0)
    mgr.clean_if_needed(int(clock() * 1000))
    before = [(o, k, v) for o, k, v, _ in full_read(lg)]
    mgr.close()
    mgr = LogManager([str(tmp_path)], clock=clock)
    mgr.load(lambda _t: config)
    lg2 = mgr.get_log("t", 0)
    assert lg2 is not None
    assert [(o, k, v) for o, k, v, _ in full_read(lg2)] == before
    assert lg2.log_end_offset == 50
    mgr.close()


def test_cleaned_segment_keeps_the_newest_replaced_mtime(tmp_path):
    """Retention of segments without timestamps goes by file mtime: cleaning must not make
    old data look freshly written."""
    clock = Clock()
    lg = new_log(tmp_path, clock)
    for i in range(30):
        lg.append(keyed([(b"k%d" % (i % 3), b"v%d" % i)]), leader_epoch=0)
    assert len(lg.segments) > 3
    old_ns = [(TS - 3_600_000 + i) * 1_000_000 for i in range(len(lg.segments))]
    for seg, ns in zip(lg.segments, old_ns):
        os.utime(seg.log_path, ns=(ns, ns))
    res = cleaner.clean_log(lg, int(clock() * 1000), 0, max_segments=3, force=True)
    assert res is not None
    cleaned = lg.segments[0]
    assert os.stat(cleaned.log_path).st_mtime_ns in old_ns


def test_interrupted_swap_is_completed_or_discarded(tmp_path):
    clock = Clock()
    lg = new_log(tmp_path, clock)
    for i in range(40):
        lg.append(keyed([(b"k%d" % (i % 3), b"v%d" % i)]), leader_epoch=0)
    lg.roll()
    d = lg.dir
    # A committed swap covering the first two segments (what the cleaner would write).
    # A committed swap replacing the first two segments, as if every record of the first
    # had been superseded.
    segs = lg.segments[:2]
    base = segs[0].base_offset
    (d / f"{base:020d}.log.swap").write_bytes(segs[1].read_bytes(0, segs[1].size))
    (d / f"{lg.segments[2].base_offset:020d}.log.cleaned").write_bytes(b"junk")
    lg.close()
    lg2 = Log(d, "t", 0, lg.config, clock=clock)
    lg2.load(recovery_point=0, log_start_offset=0, clean=False)
    names = os.listdir(d)
    assert not [n for n in names if n.endswith((".swap", ".cleaned"))]
    assert lg2.segments[0].base_offset == base
    assert lg2.segments[1].base_offset == lg.segments[2].base_offset
    assert lg2.log_end_offset == 40


def test_reader_during_cleaning_sees_no_regression(tmp_path):
    clock = Clock()
    lg = new_log(tmp_path, clock)
    latest: dict[bytes, bytes] = {}
    for i in range(200):
        k = b"k%d" % (i % 7)
        latest[k] = b"v%d" % i
        lg.append(keyed([(k, latest[k])]), leader_epoch=0)
    lg.roll()
    # Interleave: read a batch at a time while cleaning passes happen in between.
    first_dirty = 0
    offset = 0
    seen: dict[bytes, bytes] = {}
    last = -1
    while offset < lg.log_end_offset:
        res = cleaner.clean_log(lg, int(clock() * 1000), first_dirty, max_segments=1, force=True)
        if res is not None:
            first_dirty = res.first_dirty
        data = lg.read(offset, 100).records.read()
        for pos, h in records.iter_batches(data):
            for r in records.decode_records(data, pos):
                o = h.base_offset + r.offset_delta
                if o < offset:
                    continue
                assert o > last
                last = o
                seen[r.key] = r.value
            offset = h.next_offset
    assert seen == latest


def test_crash_during_cleaning(tmp_path):
    """SIGKILL a child that cleans a log at random moments; each reopen keeps every latest
    value and never mixes versions of a segment."""
    rng = random.Random(8)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run(
        [sys.executable, "-m", "tests.storage.crash_cleaner", str(tmp_path), "setup"],
        check=True,
        cwd=ROOT,
        env=env,
    )
    from tests.storage.crash_cleaner import CONFIG, expected_latest, open_log

    kills = 0
    for _ in range(15):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.crash_cleaner", str(tmp_path), "clean"],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.15))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        mgr, lg = open_log(tmp_path)
        assert not [n for n in os.listdir(lg.dir) if n.endswith((".swap", ".cleaned"))]
        got = full_read(lg)
        offsets = [o for o, *_ in got]
        assert offsets == sorted(set(offsets))
        last: dict[bytes, bytes | None] = {}
        for _, k, v, _ in got:
            last[k] = v  # type: ignore[index]
        assert last == expected_latest()
        mgr.close(clean=False)
    assert kills > 0
    assert CONFIG.cleanup_policy == ("compact",)


def test_markers_stay_while_needed_then_go_after_horizon(tmp_path):
    clock = Clock()
    lg = new_log(tmp_path, clock, segment_bytes=10_000, delete_retention_ms=1000)
    pid = 5
    txn = keyed(
        [(b"a", b"1")], producer_id=pid, producer_epoch=0, base_sequence=0, is_transactional=True
    )
    lg.append(txn, leader_epoch=0)
    marker = records.build_control_batch(
        records.CONTROL_COMMIT, producer_id=pid, producer_epoch=0, timestamp=TS
    )
    lg.append(marker, leader_epoch=0, origin="coordinator")
    lg.roll()

    def kinds():
        data = lg.read(0, 1 << 20).records.read()
        return [
            (h.base_offset, h.is_control, h.record_count) for _, h in records.iter_batches(data)
        ]

    clean_all(lg, int(clock() * 1000))
    assert kinds() == [(0, False, 1), (1, True, 1)]  # the data is live: the marker stays
    lg.append(keyed([(b"a", b"2")]), leader_epoch=0)
    lg.roll()
    clean_all(lg, int(clock() * 1000))
    # The transaction's data is superseded; the marker waits for its delete horizon.
    data = lg.read(0, 1 << 20).records.read()
    hs = [h for _, h in records.iter_batches(data)]
    assert [h.is_control for h in hs] == [False, True, False]
    assert hs[0].record_count == 0  # the producer's last batch keeps its offsets
    assert hs[1].has_delete_horizon
    clock.advance(2)
    clean_all(lg, int(clock() * 1000))
    data = lg.read(0, 1 << 20).records.read()
    assert not [h for _, h in records.iter_batches(data) if h.is_control]


def test_compact_delete_applies_retention_too(tmp_path):
    clock = Clock(TS / 1000)
    lg = new_log(tmp_path, clock, cleanup_policy=("compact", "delete"), retention_ms=60_000)
    for i in range(30):
        lg.append(keyed([(b"k%d" % (i % 2), b"v%d" % i)]), leader_epoch=0)
    lg.roll()
    clean_all(lg, int(clock() * 1000))
    assert len(full_read(lg)) == 2
    clock.advance(120)
    assert lg.apply_retention(int(clock() * 1000)) > 0
    assert full_read(lg) == []


def test_max_compaction_lag_forces_cleaning_below_the_dirty_ratio(tmp_path):
    clock = Clock(TS / 1000)
    lg = new_log(tmp_path, clock, min_cleanable_dirty_ratio=0.99, max_compaction_lag_ms=10_000)
    for i in range(20):
        lg.append(keyed([(b"k", b"v%d" % i)]), leader_epoch=0)
    lg.roll()
    first = clean_all(lg, int(clock() * 1000))
    for i in range(3):
        lg.append(keyed([(b"k", b"w%d" % i)]), leader_epoch=0)
    lg.roll()
    now = int(clock() * 1000)
    # Dirty ratio below 0.99 and not overdue: no pass; 10 s later it is overdue.
    assert cleaner.clean_log(lg, now, first) is None
    assert cleaner.clean_log(lg, now + 20_000, first) is not None
