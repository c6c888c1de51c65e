"""Log behaviour: offsets, reads, rolling, indexes, retention, DeleteRecords, truncation."""

from __future__ import annotations

import uuid

import pytest

from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.storage.log import Log, LogConfig
from kpy.storage.manager import LogManager
from tests.storage.helpers import Clock, batch, read_values


def new_log(tmp_path, clock=None, **config) -> Log:
    lg = Log(tmp_path / "t-0", "t", 0, LogConfig(**config), clock=clock or Clock())
    lg.create(uuid.uuid4())
    return lg


def test_offsets_are_assigned_and_dense(tmp_path):
    lg = new_log(tmp_path)
    results = [lg.append(batch([b"a", b"b", b"c"]), leader_epoch=0) for _ in range(4)]
    assert [(r.base_offset, r.last_offset) for r in results] == [(0, 2), (3, 5), (6, 8), (9, 11)]
    assert lg.log_end_offset == lg.high_watermark == 12
    assert [o for o, _ in read_values(lg)] == list(range(12))


def test_layout_matches_kafka(tmp_path):
    lg = new_log(tmp_path, segment_bytes=300)
    for _ in range(10):
        lg.append(batch([b"x" * 50]), leader_epoch=0)
    names = sorted(p.name for p in (tmp_path / "t-0").iterdir())
    assert "00000000000000000000.log" in names
    assert "00000000000000000000.index" in names
    assert "00000000000000000000.timeindex" in names
    assert "partition.metadata" in names
    assert "leader-epoch-checkpoint" in names
    assert len([n for n in names if n.endswith(".log")]) > 1
    text = (tmp_path / "t-0" / "partition.metadata").read_text()
    assert text.startswith("version: 0\ntopic_id: ")


def test_read_starts_at_batch_holding_offset_and_respects_max_bytes(tmp_path):
    lg = new_log(tmp_path)
    for i in range(5):
        lg.append(batch([b"v%d-%d" % (i, j) for j in range(3)]), leader_epoch=0)
    one = len(batch([b"v0-0", b"v0-1", b"v0-2"]))
    res = lg.read(4, one)
    data = res.records.read()
    headers = [h for _, h in records.iter_batches(data)]
    assert [h.base_offset for h in headers] == [3]
    res = lg.read(4, 10 * one)
    assert len(list(records.iter_batches(res.records.read()))) == 4


def test_at_least_one_batch_even_if_larger_than_max_bytes(tmp_path):
    lg = new_log(tmp_path)
    lg.append(batch([b"x" * 5000]), leader_epoch=0)
    res = lg.read(0, 100)
    assert len(res.records) > 100
    assert len(lg.read(0, 100, min_one=False).records) == 0


def test_out_of_range_reads(tmp_path):
    lg = new_log(tmp_path)
    lg.append(batch([b"a"]), leader_epoch=0)
    assert len(lg.read(1, 1000).records) == 0  # at the log end: empty, not an error
    with pytest.raises(KafkaError) as err:
        lg.read(2, 1000)
    assert err.value.code == ErrorCode.OFFSET_OUT_OF_RANGE


def test_max_offset_bounds_reads(tmp_path):
    lg = new_log(tmp_path)
    for _ in range(3):
        lg.append(batch([b"a", b"b"]), leader_epoch=0)
    data = lg.read(0, 1 << 20, max_offset=4).records.read()
    assert [h.base_offset for _, h in records.iter_batches(data)] == [0, 2]


def test_index_entries_every_interval(tmp_path):
    lg = new_log(tmp_path, index_interval_bytes=1000)
    for i in range(50):
        lg.append(batch([b"x" * 200], timestamp=1000 + i), leader_epoch=0)
    seg = lg.segments[0]
    assert 5 <= len(seg.index.offsets) <= 15
    index_file = tmp_path / "t-0" / "00000000000000000000.index"
    assert index_file.stat().st_size == 0  # entries reach the file at flush, not per append
    lg.flush()
    assert index_file.stat().st_size == 8 * len(seg.index.offsets)
    lg.append(batch([b"x" * 2000], timestamp=2000), leader_epoch=0)
    lg.flush()  # only the new entry is appended
    assert index_file.stat().st_size == 8 * len(seg.index.offsets)
    for off in (0, 7, 23, 49):
        assert read_values(lg, off)[0][0] == off


def test_index_entries_as_kafka_appends_them(tmp_path):
    # LogSegment.append: the max timestamp counts the batch being indexed, entries come once
    # MORE than index.interval.bytes were written, and a rolled segment's time index ends
    # with its max timestamp (what kafka-dump-log prints for a Kafka broker's files).
    size = len(batch([b"v"], timestamp=1000))
    lg = new_log(tmp_path, index_interval_bytes=size)
    for i in range(10):
        lg.append(batch([b"v"], timestamp=1000 + i), leader_epoch=0)
    seg = lg.segments[0]
    assert list(seg.index.offsets) == [2, 4, 6, 8]
    assert list(seg.index.positions) == [2 * size, 4 * size, 6 * size, 8 * size]
    lg.roll()
    entries = list(zip(seg.time_index.timestamps, seg.time_index.offsets))
    assert entries == [(1002, 2), (1004, 4), (1006, 6), (1008, 8), (1009, 9)]


def test_reads_inside_batches_through_the_index(tmp_path):
    # Entries name a batch's last offset (Kafka's layout), so an offset inside a batch is
    # found by scanning on from the entry below it.
    lg = new_log(tmp_path, index_interval_bytes=100)
    for _ in range(20):
        lg.append(batch([b"x" * 40, b"y" * 40, b"z" * 40]), leader_epoch=0)
    seg = lg.segments[0]
    assert len(seg.index.offsets) > 5
    batches = dict(seg.scan(0))
    assert all(batches[p].last_offset == o for o, p in zip(seg.index.offsets, seg.index.positions))
    for off in (0, 4, 5, 31, 59):
        assert read_values(lg, off)[0][0] == off


def test_offset_for_timestamp_and_max_timestamp(tmp_path):
    lg = new_log(tmp_path, index_interval_bytes=100)
    for i in range(20):
        lg.append(batch([b"v"], timestamp=1000 + 10 * i), leader_epoch=0)
    assert lg.offset_for_timestamp(1055) == (6, 1060)
    assert lg.offset_for_timestamp(1000) == (0, 1000)
    assert lg.offset_for_timestamp(5000) is None
    assert lg.max_timestamp_entry() == (19, 1190)


def test_roll_by_size_and_time(tmp_path):
    clock = Clock()
    lg = new_log(tmp_path, clock=clock, segment_bytes=1000, segment_ms=60_000)
    for _ in range(20):
        lg.append(batch([b"x" * 100]), leader_epoch=0)
    by_size = len(lg.segments)
    assert by_size > 2
    clock.advance(61)
    lg.append(batch([b"y"]), leader_epoch=0)
    assert len(lg.segments) == by_size + 1


def test_retention_by_time_and_size(tmp_path):
    clock = Clock()
    lg = new_log(tmp_path, clock=clock, segment_bytes=500, retention_ms=60_000)
    now = int(clock() * 1000)
    for _i in range(10):
        lg.append(batch([b"x" * 100], timestamp=now - 120_000), leader_epoch=0)
    for _i in range(5):
        lg.append(batch([b"y" * 100], timestamp=now), leader_epoch=0)
    deleted = lg.apply_retention(now)
    assert deleted > 0
    assert all(v.startswith(b"y") for _, v in read_values(lg))
    assert lg.log_start_offset > 0
    with pytest.raises(KafkaError):
        lg.read(0, 100)
    lg.config.retention_bytes = 400
    lg.config.retention_ms = -1
    lg.apply_retention(now)
    assert lg.size_in_bytes() - lg.segments[0].size < 400


def test_delete_records_advances_log_start(tmp_path):
    lg = new_log(tmp_path, segment_bytes=300)
    for _ in range(10):
        lg.append(batch([b"x" * 60]), leader_epoch=0)
    lg.delete_records_before(7)
    assert lg.log_start_offset == 7
    with pytest.raises(KafkaError) as err:
        lg.read(6, 100)
    assert err.value.code == ErrorCode.OFFSET_OUT_OF_RANGE
    assert read_values(lg)[0][0] == 7
    assert lg.segments[0].base_offset <= 7
    with pytest.raises(KafkaError):
        lg.delete_records_before(11)


def test_truncate_to(tmp_path):
    lg = new_log(tmp_path, segment_bytes=300)
    for i in range(10):
        lg.append(batch([b"v%d" % i]), leader_epoch=0)
    lg.truncate_to(4)
    assert lg.log_end_offset == 4
    assert lg.append(batch([b"new"]), leader_epoch=0).base_offset == 4
    assert [v for _, v in read_values(lg)] == [b"v0", b"v1", b"v2", b"v3", b"new"]


def test_log_append_time(tmp_path):
    lg = new_log(tmp_path)
    res = lg.append(batch([b"a"], timestamp=5), leader_epoch=0, log_append_time_ms=999)
    assert res.log_append_time_ms == 999
    h = records.read_header(lg.read(0, 1000).records.read())
    assert h.is_log_append_time and h.max_timestamp == 999
    records.validate_batch(lg.read(0, 1000).records.read())


def test_idempotent_producer_state(tmp_path):
    lg = new_log(tmp_path)
    first = lg.append(
        batch([b"a", b"b"], producer_id=7, producer_epoch=0, base_sequence=0), leader_epoch=0
    )
    dup = lg.append(
        batch([b"a", b"b"], producer_id=7, producer_epoch=0, base_sequence=0), leader_epoch=0
    )
    assert dup.duplicate and dup.base_offset == first.base_offset
    assert lg.log_end_offset == 2
    with pytest.raises(KafkaError) as err:
        lg.append(batch([b"c"], producer_id=7, producer_epoch=0, base_sequence=5), leader_epoch=0)
    assert err.value.code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    lg.append(batch([b"c"], producer_id=7, producer_epoch=1, base_sequence=0), leader_epoch=0)
    with pytest.raises(KafkaError) as err:
        lg.append(batch([b"d"], producer_id=7, producer_epoch=0, base_sequence=2), leader_epoch=0)
    assert err.value.code == ErrorCode.INVALID_PRODUCER_EPOCH


def test_producer_state_survives_reopen(tmp_path):
    mgr = LogManager([str(tmp_path)])
    lg = mgr.create_log("t", 0, uuid.uuid4())
    lg.append(batch([b"a"], producer_id=3, producer_epoch=0, base_sequence=0), leader_epoch=0)
    mgr.close()
    for clean in (True, False):
        mgr = LogManager([str(tmp_path)])
        mgr.load()
        lg = mgr.get_log("t", 0)
        dup = lg.append(
            batch([b"a"], producer_id=3, producer_epoch=0, base_sequence=0), leader_epoch=0
        )
        assert dup.duplicate and dup.base_offset == 0
        if clean:
            mgr.close()
        else:
            for seg in lg.segments:
                seg.close()  # like a crash: no snapshot, no marker


def test_leader_epochs(tmp_path):
    lg = new_log(tmp_path)
    lg.append(batch([b"a"]), leader_epoch=0)
    lg.append(batch([b"b"]), leader_epoch=2)
    lg.append(batch([b"c"]), leader_epoch=2)
    assert lg.end_offset_for_epoch(0) == (0, 1)
    assert lg.end_offset_for_epoch(1) == (0, 1)
    assert lg.end_offset_for_epoch(2) == (2, 3)
    assert lg.epoch_for_offset(2) == 2


def test_reopen_many_segments(tmp_path):
    mgr = LogManager([str(tmp_path)])
    lg = mgr.create_log("t", 0, uuid.uuid4(), LogConfig(segment_bytes=200))
    for i in range(100):
        lg.append(batch([b"v%d" % i]), leader_epoch=0)
    n = len(lg.segments)
    mgr.close()
    mgr = LogManager([str(tmp_path)], default_config=LogConfig(segment_bytes=200))
    mgr.load()
    lg = mgr.get_log("t", 0)
    assert len(lg.segments) == n
    assert lg.log_end_offset == 100
    assert [v for _, v in read_values(lg)] == [b"v%d" % i for i in range(100)]
