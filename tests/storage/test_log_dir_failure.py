"""Log dir failures: the first I/O error of a log takes its whole log dir offline.

A failed fsync or write raises KafkaStorageError (KAFKA_STORAGE_ERROR), every log of that dir
refuses every operation from then on, nothing there is fsynced again (no retry: after a
failed fsync the page cache state is unknown), the recovery point stays at the last fsync
that succeeded, no checkpoint or clean-shutdown marker is written there, and logs in other
dirs carry on. Faults are injected by replacing os.fsync / os.write for one file only.
"""

from __future__ import annotations

import errno
import logging
import os
import uuid
from pathlib import Path

import pytest

from kpy.protocol.error_codes import ErrorCode
from kpy.storage import cleaner
from kpy.storage.errors import KafkaStorageError
from kpy.storage.log import LogConfig
from kpy.storage.manager import CLEAN_SHUTDOWN, RECOVERY_CHECKPOINT, LogManager
from tests.storage.helpers import Clock, batch, read_values

TOPIC_ID = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")


def fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


class FailingFsync:
    """os.fsync that fails with EIO for files under ``bad`` and records every call."""

    def __init__(self, bad: Path) -> None:
        self.bad = str(bad)
        self.calls: list[str] = []
        self.failed = 0
        self.real = os.fsync

    def __call__(self, fd: int) -> None:
        path = fd_path(fd)
        self.calls.append(path)
        if path.startswith(self.bad + "/"):
            self.failed += 1
            raise OSError(errno.EIO, "Input/output error (injected)")
        self.real(fd)

    def calls_under(self, d: Path) -> int:
        return sum(p.startswith(str(d) + "/") for p in self.calls)


@pytest.fixture
def two_dirs(tmp_path):
    """A manager over two log dirs with logs a-0, b-0 in the first and c-0 in the second."""
    dirs = [tmp_path / "d1", tmp_path / "d2"]
    m = LogManager([str(d) for d in dirs], default_config=LogConfig(), clock=Clock())
    m.load()
    a = m.create_log("a", 0, TOPIC_ID)
    c = m.create_log("c", 0, TOPIC_ID)
    b = m.create_log("b", 0, TOPIC_ID)
    assert [Path(lg.log_dir) for lg in (a, b, c)] == [dirs[0], dirs[0], dirs[1]]
    for lg in (a, b, c):
        lg.append(batch([b"1", b"2"]), leader_epoch=0)
        lg.flush()
    return m, dirs, a, b, c


def test_fsync_failure_takes_the_dir_offline(two_dirs, monkeypatch, caplog):
    m, (d1, d2), a, b, c = two_dirs
    a.append(batch([b"3"]), leader_epoch=0)
    recovery_point = a.recovery_point
    assert recovery_point == 2 and a.log_end_offset == 3
    fsync = FailingFsync(d1)
    monkeypatch.setattr(os, "fsync", fsync)
    with (
        caplog.at_level(logging.ERROR, logger="kpy.storage"),
        pytest.raises(KafkaStorageError) as raised,
    ):
        a.flush()
    assert raised.value.code == ErrorCode.KAFKA_STORAGE_ERROR
    assert fsync.failed == 1
    assert a.offline and b.offline and not c.offline
    assert m.failures.offline.keys() == {str(d1)}
    assert a.recovery_point == recovery_point
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and str(d1) in errors[0]

    # Every later operation on a log of that dir raises, and nothing there is fsynced again.
    before = len(fsync.calls)
    for lg in (a, b):
        with pytest.raises(KafkaStorageError):
            lg.append(batch([b"4"]), leader_epoch=0)
        with pytest.raises(KafkaStorageError):
            lg.read(0, 1 << 20)
        with pytest.raises(KafkaStorageError):
            lg.flush()
        with pytest.raises(KafkaStorageError):
            lg.roll()
        with pytest.raises(KafkaStorageError):
            lg.delete_records_before(1)
    assert fsync.calls[before:] == []
    assert a.recovery_point == recovery_point and a.log_end_offset == 3

    # The other dir carries on.
    assert c.append(batch([b"5"]), leader_epoch=0).base_offset == 2
    c.flush()
    assert c.recovery_point == 3
    assert [v for _, v in read_values(c)] == [b"1", b"2", b"5"]
    assert fsync.calls_under(d1) == 1


def test_background_work_skips_the_offline_dir(two_dirs, monkeypatch, caplog):
    m, (d1, d2), a, b, c = two_dirs
    config = LogConfig(flush_messages=1)
    for lg in (a, b, c):
        lg.update_config(config)
        lg.append(batch([b"x"]), leader_epoch=0)
    fsync = FailingFsync(d1)
    monkeypatch.setattr(os, "fsync", fsync)
    checkpoint = (
        (d1 / RECOVERY_CHECKPOINT).read_bytes() if (d1 / RECOVERY_CHECKPOINT).exists() else None
    )
    with caplog.at_level(logging.ERROR, logger="kpy.storage"):
        for _ in range(3):  # every round of the housekeeping task
            m.flush_if_needed(0)
            m.apply_retention(0)
            m.clean_if_needed(0)
            m.checkpoint()
    assert fsync.failed == 1  # the first failure, never a retry
    assert a.offline and b.offline
    assert c.recovery_point == c.log_end_offset == 3
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    now = (d1 / RECOVERY_CHECKPOINT).read_bytes() if (d1 / RECOVERY_CHECKPOINT).exists() else None
    assert now == checkpoint
    m.close()
    assert fsync.failed == 1
    assert not (d1 / CLEAN_SHUTDOWN).exists()
    assert (d2 / CLEAN_SHUTDOWN).exists()
    monkeypatch.undo()

    # The next start recovers the failed dir as after a crash, and keeps its data.
    m2 = LogManager([str(d1), str(d2)], default_config=LogConfig(), clock=Clock())
    m2.load()
    a2, c2 = m2.get_log("a", 0), m2.get_log("c", 0)
    assert a2 is not None and c2 is not None
    assert a2.recovery_report.recovered_segments == [0]
    assert c2.recovery_report.recovered_segments == []
    assert [v for _, v in read_values(a2)] == [b"1", b"2", b"x"]
    assert not a2.offline
    a2.append(batch([b"y"]), leader_epoch=0)
    a2.flush()
    m2.close()


def test_failed_write_leaves_the_segment_whole_and_the_dir_offline(two_dirs, monkeypatch):
    m, (d1, _), a, b, c = two_dirs
    size = a.active.size
    target = a.active.fd
    real = os.write

    def write(fd: int, data) -> int:
        if fd == target:
            real(fd, bytes(data)[:10])  # part of the batch reaches the file, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(KafkaStorageError):
        a.append(batch([b"big" * 100]), leader_epoch=0)
    monkeypatch.undo()
    assert os.fstat(target).st_size == size  # the partial batch was cut off again
    assert a.log_end_offset == 2 and a.offline and b.offline and not c.offline
    with pytest.raises(KafkaStorageError):
        b.append(batch([b"z"]), leader_epoch=0)
    assert m.create_log("new", 0, TOPIC_ID).log_dir == str(m.log_dirs[1])


def test_every_dir_offline_refuses_new_logs(tmp_path, monkeypatch):
    m = LogManager([str(tmp_path / "d")], default_config=LogConfig(), clock=Clock())
    m.load()
    lg = m.create_log("a", 0, TOPIC_ID)
    lg.append(batch([b"1"]), leader_epoch=0)
    monkeypatch.setattr(os, "fsync", FailingFsync(tmp_path / "d"))
    with pytest.raises(KafkaStorageError):
        lg.flush()
    with pytest.raises(KafkaStorageError, match="every log dir is offline"):
        m.create_log("b", 0, TOPIC_ID)


def compacted_log(m: LogManager):
    config = LogConfig(cleanup_policy=("compact", "delete"), segment_bytes=300, retention_ms=-1)
    lg = m.create_log("k", 0, TOPIC_ID, config)
    for i in range(30):
        lg.append(batch([b"v%d" % i], key=b"key-%d" % (i % 3)), leader_epoch=0)
    lg.roll()
    assert len(lg.segments) > 3
    return lg


def test_cleaner_io_error_takes_the_dir_offline(tmp_path, monkeypatch):
    m = LogManager([str(tmp_path / "d")], default_config=LogConfig(), clock=Clock())
    m.load()
    lg = compacted_log(m)
    monkeypatch.setattr(os, "fsync", FailingFsync(tmp_path / "d"))
    segments = lg.segments
    assert m.clean_if_needed(0) == 0  # the pass failed, without raising
    assert lg.offline
    assert lg.segments == segments  # nothing was swapped in
    assert not list((tmp_path / "d" / "k-0").glob("*.swap"))


@pytest.mark.parametrize("when", ["while reading", "before the swap"])
def test_segments_deleted_under_the_cleaner_are_a_retry_not_a_failure(tmp_path, monkeypatch, when):
    m = LogManager([str(tmp_path / "d")], default_config=LogConfig(), clock=Clock())
    m.load()
    lg = compacted_log(m)
    real = cleaner._write_segment

    def write_after_delete_records(lg_, group, chunks, now_ms):
        # DeleteRecords runs (on the event loop) while the cleaner writes the cleaned file:
        # the segments being read lose their fds, or the group is gone when it is swapped.
        if when == "while reading":
            lg.delete_records_before(lg.segments[2].base_offset)
            return real(lg_, group, chunks, now_ms)
        written = real(lg_, group, chunks, now_ms)
        lg.delete_records_before(lg.segments[2].base_offset)
        return written

    monkeypatch.setattr(cleaner, "_write_segment", write_after_delete_records)
    with pytest.raises(cleaner.SegmentsChanged):
        cleaner.clean_log(lg, 0, 0, force=True)
    assert not lg.offline
    assert not list((tmp_path / "d" / "k-0").glob("*.cleaned"))
    monkeypatch.undo()
    assert cleaner.clean_log(lg, 0, 0, force=True) is not None
    values = read_values(lg)
    assert values and all(o >= lg.log_start_offset for o, _ in values)
