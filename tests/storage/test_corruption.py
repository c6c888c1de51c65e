"""Recovery after an unclean shutdown, segment by segment, and what it reports and logs."""

from __future__ import annotations

import logging
import os

from kpy.protocol import records
from kpy.storage.log import LogConfig
from kpy.storage.manager import LogManager
from tests.storage.conftest import TOPIC_ID, make_batch

CONFIG = LogConfig(segment_bytes=1000, index_interval_bytes=200)


def build(tmp_path, n=40, *, clean=False, checkpoint=False):
    m = LogManager([str(tmp_path)], default_config=CONFIG)
    m.load()
    lg = m.create_log("c", 0, TOPIC_ID, CONFIG)
    for i in range(n):
        lg.append(make_batch(2, value=b"%03d" % i + b"z" * 90), leader_epoch=0)
    if checkpoint:
        lg.flush()
        m.checkpoint()
    bases = [s.base_offset for s in lg.segments]
    m.close(clean=clean)
    return lg.dir, bases


def reopen(tmp_path):
    m = LogManager([str(tmp_path)], default_config=CONFIG)
    m.load()
    return m, m.get_log("c", 0)


def flip(path, position):
    with open(path, "r+b") as f:
        f.seek(position)
        b = f.read(1)
        f.seek(position)
        f.write(bytes([b[0] ^ 0x55]))


def test_corrupt_middle_segment_cuts_the_log_there(tmp_path, caplog):
    d, bases = build(tmp_path)
    assert len(bases) >= 4
    victim = d / f"{bases[1]:020d}.log"
    flip(victim, 200)  # inside the second or third batch of that segment
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        m, lg = reopen(tmp_path)
    report = lg.recovery_report
    assert report.truncated_segment == bases[1]
    assert report.deleted_segments == bases[2:]
    assert [s.base_offset for s in lg.segments] == bases[:2]
    assert not any((d / f"{b:020d}.log").exists() for b in bases[2:])
    assert "CRC" in caplog.text and "recovery deleted segment" in caplog.text
    assert "recovery truncated" in caplog.text
    # What is left is whole, valid batches, and appends continue at the new end.
    seg = lg.segments[-1]
    data = seg.read_bytes(0, seg.size)
    assert sum(h.size for _, h in records.iter_batches(data)) == seg.size
    leo = lg.log_end_offset
    assert leo < 80 and leo % 2 == 0
    assert lg.append(make_batch(1), leader_epoch=0).base_offset == leo
    m.close()


def test_recovery_point_limits_revalidation(tmp_path):
    d, bases = build(tmp_path, checkpoint=True)
    m, lg = reopen(tmp_path)
    # Only the last segment can hold data past the recovery point.
    assert lg.recovery_report.recovered_segments == [bases[-1]]
    assert not lg.recovery_report.truncated
    assert lg.log_end_offset == 80
    m.close()


def test_no_checkpoint_revalidates_everything(tmp_path):
    _, bases = build(tmp_path)
    m, lg = reopen(tmp_path)
    assert lg.recovery_report.recovered_segments == bases
    m.close()


def test_garbage_tail_and_zero_fill(tmp_path, caplog):
    d, bases = build(tmp_path)
    last = d / f"{bases[-1]:020d}.log"
    size = last.stat().st_size
    with open(last, "ab") as f:
        f.write(b"\x00" * 300)  # preallocated-looking zeros after a crash
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        m, lg = reopen(tmp_path)
    assert last.stat().st_size == size
    assert lg.log_end_offset == 80
    assert lg.recovery_report.truncated_bytes == 300
    assert "truncating 300 bytes" in caplog.text
    m.close()


def test_missing_time_index_after_clean_shutdown(tmp_path, caplog):
    d, bases = build(tmp_path, clean=True)
    os.unlink(d / f"{bases[0]:020d}.timeindex")
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        m, lg = reopen(tmp_path)
    assert "missing index file(s)" in caplog.text and ".timeindex" in caplog.text
    assert (d / f"{bases[0]:020d}.timeindex").exists()
    assert lg.segments[0].time_index.timestamps
    assert lg.offset_for_timestamp(0) == (0, 1000)
    m.close()


def test_index_pointing_past_the_log_is_rebuilt(tmp_path, caplog):
    d, bases = build(tmp_path, clean=True)
    index = d / f"{bases[0]:020d}.index"
    with open(index, "ab") as f:
        f.write((50).to_bytes(4, "big") + (10**6).to_bytes(4, "big"))
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        m, lg = reopen(tmp_path)
    assert "rebuilding indexes" in caplog.text
    assert all(p < lg.segments[0].size for p in lg.segments[0].index.positions)
    assert lg.read(4, 100).first_offset == 4
    m.close()
