"""Corruption at start-up: recovery truncates bad tails and rebuilds indexes, and says so."""

from __future__ import annotations

import logging
import os
import uuid

from kpy.storage.log import LogConfig
from kpy.storage.manager import CLEAN_SHUTDOWN, LogManager
from tests.storage.helpers import batch, read_values

CONFIG = LogConfig(segment_bytes=100_000, index_interval_bytes=200)


def write_log(tmp_path, n=20):
    mgr = LogManager([str(tmp_path)], default_config=CONFIG)
    lg = mgr.create_log("r", 0, uuid.uuid4(), CONFIG)
    for i in range(n):
        lg.append(batch([b"v%d" % i, b"w%d" % i]), leader_epoch=0)
    path = lg.segments[-1].log_path
    mgr.close()
    return path


def reopen(tmp_path, clean):
    if not clean:
        os.unlink(tmp_path / CLEAN_SHUTDOWN)
    mgr = LogManager([str(tmp_path)], default_config=CONFIG)
    mgr.load()
    return mgr, mgr.get_log("r", 0)


def test_flipped_byte_in_last_batch_is_truncated(tmp_path, caplog):
    path = write_log(tmp_path)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size - 3)
        b = f.read(1)
        f.seek(size - 3)
        f.write(bytes([b[0] ^ 0xFF]))
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        _, lg = reopen(tmp_path, clean=False)
    assert lg.log_end_offset == 38
    assert [v for _, v in read_values(lg)][-1] == b"w18"
    assert "CRC mismatch" in caplog.text and "truncated" in caplog.text
    assert lg.append(batch([b"next"]), leader_epoch=0).base_offset == 38


def test_segment_cut_mid_batch(tmp_path, caplog):
    path = write_log(tmp_path)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 10)
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        _, lg = reopen(tmp_path, clean=False)
    assert lg.log_end_offset == 38
    assert "truncated" in caplog.text


def test_missing_index_is_rebuilt(tmp_path, caplog):
    path = write_log(tmp_path)
    index = path.with_suffix(".index")
    entries = index.stat().st_size
    os.unlink(index)
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        _, lg = reopen(tmp_path, clean=True)
    assert "rebuilding indexes" in caplog.text
    lg.flush()
    assert index.stat().st_size == entries > 0
    assert read_values(lg, 17)[0] == (17, b"w8")


def test_corrupt_index_is_rebuilt(tmp_path, caplog):
    path = write_log(tmp_path)
    index = path.with_suffix(".index")
    with open(index, "ab") as f:
        f.write(b"\x01\x02\x03")
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        _, lg = reopen(tmp_path, clean=True)
    assert "rebuilding indexes" in caplog.text
    assert lg.log_end_offset == 40


def test_clean_shutdown_marker(tmp_path):
    write_log(tmp_path)
    assert (tmp_path / CLEAN_SHUTDOWN).exists()
    mgr, _ = reopen(tmp_path, clean=True)
    assert not (tmp_path / CLEAN_SHUTDOWN).exists()  # removed while running
    mgr.close()
    assert (tmp_path / CLEAN_SHUTDOWN).exists()
    assert (tmp_path / "recovery-point-offset-checkpoint").read_text().startswith("0\n1\nr 0 40\n")


def test_index_entries_not_yet_flushed_are_rebuilt_after_a_crash(tmp_path):
    # Index entries reach their files at flush or close; a crash before either leaves the
    # files short, and recovery (no clean-shutdown marker) rebuilds them from the log.
    mgr = LogManager([str(tmp_path)], default_config=CONFIG)
    lg = mgr.create_log("r", 0, uuid.uuid4(), CONFIG)
    for i in range(40):
        lg.append(batch([b"v%d" % i, b"w%d" % i]), leader_epoch=0)
    expected = list(lg.segments[0].index.offsets)
    assert len(expected) > 2
    index = lg.segments[0].index.path
    assert index.stat().st_size == 0
    # No close: the process dies here, leaving no clean-shutdown marker.
    assert not (tmp_path / CLEAN_SHUTDOWN).exists()
    mgr2 = LogManager([str(tmp_path)], default_config=CONFIG)
    mgr2.load()
    lg2 = mgr2.get_log("r", 0)
    assert list(lg2.segments[0].index.offsets) == expected
    for off in (0, 33, 79):
        assert read_values(lg2, off)[0][0] == off
