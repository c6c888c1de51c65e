"""Append, read, roll, offsets by timestamp, leader epochs, truncation, restart."""

from __future__ import annotations

import os

import pytest

from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.storage.log import LogConfig
from tests.storage.conftest import TOPIC_ID, batch_offsets, make_batch, open_manager


def test_append_assigns_offsets_and_reads_back(new_log):
    m, lg = new_log()
    r1 = lg.append(make_batch(3), leader_epoch=0)
    r2 = lg.append(make_batch(2), leader_epoch=0)
    assert (r1.base_offset, r1.last_offset, r1.duplicate) == (0, 2, False)
    assert (r2.base_offset, r2.last_offset) == (3, 4)
    assert lg.log_end_offset == lg.high_watermark == 5
    res = lg.read(0, 1 << 20)
    data = res.records.read()
    assert batch_offsets(data) == [(0, 2), (3, 4)]
    for _, h in records.iter_batches(data):
        records.validate_batch(data, 0)
        assert h.partition_leader_epoch == 0
    # Reading from the middle of a batch returns the whole batch.
    assert batch_offsets(lg.read(4, 1 << 20).records.read()) == [(3, 4)]
    assert len(lg.read(5, 100).records) == 0
    m.close()


def test_read_regions_are_file_regions(new_log):
    _, lg = new_log()
    lg.append(make_batch(1), leader_epoch=0)
    chunks = list(lg.read(0, 1000).records.chunks())
    assert len(chunks) == 1
    region = chunks[0]
    assert (region.position, region.length) == (0, len(make_batch(1)))
    assert os.pread(region.fd, region.length, region.position)[:8] == bytes(8)


def test_min_one_and_max_bytes(new_log):
    _, lg = new_log()
    size = len(make_batch(5, value=b"x" * 50))
    for _ in range(3):
        lg.append(make_batch(5, value=b"x" * 50), leader_epoch=0)
    assert len(lg.read(0, 1).records) == size  # one whole batch despite max_bytes
    assert len(lg.read(0, 1, min_one=False).records) == 0
    assert len(lg.read(0, 2 * size + 1).records) == 2 * size
    # Exclusive upper bound (HW / LSO).
    assert batch_offsets(lg.read(0, 1 << 20, max_offset=10).records.read()) == [(0, 4), (5, 9)]
    assert len(lg.read(0, 1 << 20, max_offset=0).records) == 0


def test_out_of_range(new_log):
    _, lg = new_log()
    lg.append(make_batch(2), leader_epoch=0)
    with pytest.raises(KafkaError) as e:
        lg.read(3, 100)
    assert e.value.code == ErrorCode.OFFSET_OUT_OF_RANGE
    with pytest.raises(KafkaError):
        lg.read(-1, 100)


def test_roll_by_size_and_reads_across_segments(new_log):
    _, lg = new_log()
    for _ in range(40):
        lg.append(make_batch(4, value=b"y" * 100), leader_epoch=0)
    assert len(lg.segments) > 3
    assert all(s.size <= 4096 for s in lg.segments)
    names = sorted(p for p in os.listdir(lg.dir) if p.endswith(".log"))
    assert names[0] == "00000000000000000000.log"
    assert names == [f"{s.base_offset:020d}.log" for s in lg.segments]
    offset, seen = 0, []
    while offset < lg.log_end_offset:
        got = batch_offsets(lg.read(offset, 1000).records.read())
        seen += got
        offset = got[-1][1] + 1
    assert seen == [(i * 4, i * 4 + 3) for i in range(40)]


def test_roll_by_time(new_log, clock):
    cfg = LogConfig(segment_ms=1000)
    _, lg = new_log(cfg)
    lg.append(make_batch(1), leader_epoch=0)
    clock.advance(500)
    lg.append(make_batch(1), leader_epoch=0)
    assert len(lg.segments) == 1
    clock.advance(1000)
    lg.append(make_batch(1), leader_epoch=0)
    assert [s.base_offset for s in lg.segments] == [0, 2]


def test_roll_by_index_full(new_log):
    cfg = LogConfig(segment_index_bytes=8 * 3, index_interval_bytes=1)
    _, lg = new_log(cfg)
    for _ in range(10):
        lg.append(make_batch(1), leader_epoch=0)
    assert len(lg.segments) > 1
    assert all(len(s.index.offsets) <= 3 for s in lg.segments)


def test_index_file_format(new_log):
    _, lg = new_log()
    for _ in range(20):
        lg.append(make_batch(2, value=b"z" * 100, timestamp=5000), leader_epoch=0)
    seg = lg.segments[0]
    lg.flush()
    data = seg.index.path.read_bytes()
    assert len(data) % 8 == 0 and data
    entries = [
        (int.from_bytes(data[i : i + 4], "big"), int.from_bytes(data[i + 4 : i + 8], "big"))
        for i in range(0, len(data), 8)
    ]
    for rel, pos in entries:
        h = records.read_header(os.pread(seg.fd, 61, pos))
        assert h.last_offset == seg.base_offset + rel  # Kafka's entry: the batch's last offset
    tdata = seg.time_index.path.read_bytes()
    assert len(tdata) % 12 == 0 and tdata


def test_offset_for_timestamp_and_max(new_log):
    _, lg = new_log()
    for i in range(30):
        lg.append(
            make_batch(2, timestamp=1000 + 10 * i, ts_step=1, value=b"q" * 80), leader_epoch=0
        )
    assert lg.offset_for_timestamp(0) == (0, 1000)
    assert lg.offset_for_timestamp(1001) == (1, 1001)
    assert lg.offset_for_timestamp(1002) == (2, 1010)
    assert lg.offset_for_timestamp(1000 + 290) == (58, 1290)
    assert lg.offset_for_timestamp(1292) is None
    assert lg.max_timestamp_entry() == (59, 1291)


def test_log_append_time(new_log):
    _, lg = new_log()
    r = lg.append(make_batch(2, timestamp=5), leader_epoch=0, log_append_time_ms=777)
    assert r.log_append_time_ms == 777
    data = lg.read(0, 1000).records.read()
    h = records.validate_batch(data)
    assert h.max_timestamp == 777 and h.is_log_append_time


def test_leader_epochs(new_log):
    _, lg = new_log()
    lg.append(make_batch(2), leader_epoch=0)
    lg.append(make_batch(2), leader_epoch=3)
    lg.append(make_batch(1), leader_epoch=3)
    assert lg.latest_epoch == 3
    assert lg.end_offset_for_epoch(0) == (0, 2)
    assert lg.end_offset_for_epoch(2) == (0, 2)
    assert lg.end_offset_for_epoch(3) == (3, 5)
    # Kafka's rules: an epoch newer than any known one is undefined.
    assert lg.end_offset_for_epoch(9) == (-1, -1)
    assert lg.end_offset_for_epoch(-1) == (-1, -1)
    text = (lg.dir / "leader-epoch-checkpoint").read_text()
    assert text == "0\n2\n0 0\n3 2\n"


def test_partition_metadata_file(new_log):
    _, lg = new_log()
    text = (lg.dir / "partition.metadata").read_text()
    import base64

    enc = base64.urlsafe_b64encode(TOPIC_ID.bytes).decode().rstrip("=")
    assert text == f"version: 0\ntopic_id: {enc}\n"


def test_truncate_to(new_log):
    _, lg = new_log()
    for _ in range(30):
        lg.append(make_batch(3, value=b"w" * 100), leader_epoch=0)
    lg.truncate_to(45)
    assert lg.log_end_offset == 45
    r = lg.append(make_batch(1), leader_epoch=0)
    assert r.base_offset == 45
    assert batch_offsets(lg.read(42, 1 << 20).records.read()) == [(42, 44), (45, 45)]


def test_restart_clean_and_continue(tmp_path, config, clock, new_log):
    m, lg = new_log()
    for _ in range(50):
        lg.append(make_batch(2, value=b"r" * 90), leader_epoch=1)
    before = lg.read(0, 1 << 30).records.read()
    nseg = len(lg.segments)
    m.close()
    assert (tmp_path / "logs" / ".kafka_cleanshutdown").exists()
    cp = (tmp_path / "logs" / "recovery-point-offset-checkpoint").read_text()
    assert cp == "0\n1\nt 0 100\n"
    m2 = open_manager(tmp_path, config, clock)
    lg2 = m2.get_log("t", 0)
    assert lg2 is not None
    assert not lg2.recovery_report.recovered_segments
    assert len(lg2.segments) == nseg
    assert lg2.log_end_offset == 100
    assert lg2.read(0, 1 << 30).records.read() == before
    assert lg2.append(make_batch(1), leader_epoch=1).base_offset == 100
    assert lg2.end_offset_for_epoch(1) == (1, 101)
    m2.close()


def test_storage_error_on_oserror(new_log):
    _, lg = new_log()
    lg.append(make_batch(1), leader_epoch=0)
    os.close(lg.active.fd)  # the next write fails with EBADF
    try:
        with pytest.raises(KafkaError) as e:
            lg.append(make_batch(1), leader_epoch=0)
        assert e.value.code == ErrorCode.KAFKA_STORAGE_ERROR
    finally:
        lg.active.fd = os.open(lg.active.log_path, os.O_RDWR | os.O_APPEND)


def test_deleted_segment_regions_stay_readable(new_log, clock):
    """A FileRegion handed out before retention deletes its segment still reads the same
    bytes: the fd is closed only after the delay (no fd-number reuse under sendfile)."""
    m, lg = new_log()
    for _ in range(30):
        lg.append(make_batch(3, value=b"d" * 100), leader_epoch=0)
    region = next(iter(lg.read(0, 1000).records.chunks()))
    before = os.pread(region.fd, region.length, region.position)
    lg.delete_records_before(lg.segments[-1].base_offset)
    m.apply_retention(clock.now_ms)
    assert not (lg.dir / "00000000000000000000.log").exists()
    # New files opened now must not get the old number while it is pending.
    fds = [os.open(lg.dir / "partition.metadata", os.O_RDONLY) for _ in range(5)]
    try:
        assert region.fd not in fds
        assert os.pread(region.fd, region.length, region.position) == before
    finally:
        for fd in fds:
            os.close(fd)
    assert len(m.closer) >= 1
    m.apply_retention(clock.now_ms + 61_000)
    assert len(m.closer) == 0
    m.close()
