"""The .lock file of a log dir: one holder at a time, across processes and within one."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import pytest

from kpy.storage.dir_lock import DirLock, LogDirError, lock_log_dirs, release_all

# A process that takes the lock the way the JVM does (fcntl record lock), reports, and holds it
# until its stdin closes.
_HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    print("busy", flush=True)
    sys.exit(0)
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def other_process_locking(path):
    """Yield what another process got when it tried to lock ``path``: 'held' or 'busy'."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()


def locked_message(d):
    return (
        f"Failed to acquire lock on file .lock in {d}. "
        "A Kafka instance in another process or thread is using this directory."
    )


def test_lock_creates_the_dir_and_excludes_other_processes(tmp_path):
    d = tmp_path / "new" / "data"
    lock = DirLock(d)
    lock.acquire()
    try:
        assert (d / ".lock").is_file() and lock.held
        with other_process_locking(d / ".lock") as got:
            assert got == "busy"
    finally:
        lock.release()
    assert (d / ".lock").is_file()  # the file stays, as Kafka's does
    with other_process_locking(d / ".lock") as got:
        assert got == "held"


def test_a_dir_locked_by_another_process_is_refused(tmp_path):
    with other_process_locking(tmp_path / ".lock") as got:
        assert got == "held"
        with pytest.raises(LogDirError) as exc:
            DirLock(tmp_path).acquire()
        assert str(exc.value) == locked_message(tmp_path)
    lock = DirLock(tmp_path)
    lock.acquire()
    lock.release()


def test_a_second_lock_in_the_same_process_is_refused_and_keeps_the_first(tmp_path):
    d, alias = tmp_path / "d", tmp_path / "alias"
    first = DirLock(d)
    first.acquire()
    alias.symlink_to(d)
    try:
        with pytest.raises(LogDirError) as exc:
            DirLock(alias).acquire()  # the same dir by another name
        assert str(exc.value) == locked_message(alias)
        # The refused attempt must not have dropped the first holder's lock.
        with other_process_locking(d / ".lock") as got:
            assert got == "busy"
    finally:
        first.release()
    again = DirLock(alias)
    again.acquire()
    again.release()


def test_lock_log_dirs_is_all_or_nothing(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(LogDirError, match="cannot create log dir .*file/data: Not a directory"):
        lock_log_dirs([str(tmp_path / "a"), str(tmp_path / "file" / "data")])
    # "a" was locked first and released when "file/data" failed.
    release_all(lock_log_dirs([str(tmp_path / "a")]))


def test_unusable_paths_are_named(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(LogDirError) as exc:
        DirLock(tmp_path / "file").acquire()
    assert str(exc.value) == f"log dir {tmp_path / 'file'} is not a directory"
    with pytest.raises(LogDirError) as exc:
        DirLock(tmp_path / "file" / "sub").acquire()
    assert str(exc.value) == f"cannot create log dir {tmp_path / 'file' / 'sub'}: Not a directory"
