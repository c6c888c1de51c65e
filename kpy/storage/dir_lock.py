"""The ``.lock`` file of a log dir: one broker process per directory.

Format: an empty file named ``.lock`` in the log dir, created when missing and never removed.
Invariant: while a broker runs, it holds an exclusive, non-blocking POSIX record lock on that
file, taken before any other file of the directory is read or written and released when the
broker has closed its logs. A second broker, kpy or Apache Kafka (the JVM takes the same kind
of lock on the same file), fails to lock and must leave the directory alone.

POSIX locks belong to the process, and closing any descriptor of the file drops them, so a
second lock of the same directory within this process is refused from a table of the dirs
this process holds, without opening the file again.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path

LOCK_FILE = ".lock"

_held: dict[tuple[int, int], Path] = {}  # (st_dev, st_ino) of a locked dir -> its path
_held_guard = threading.Lock()


class LogDirError(Exception):
    """A log dir that cannot be created, written or locked; the message names the dir."""


class DirLock:
    """An exclusive lock on one log dir (see the module docstring). ``acquire`` creates the
    directory when missing and raises ``LogDirError`` naming it when that or the lock fails."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(os.path.abspath(path))  # messages name the dir wherever we started
        self._fd: int | None = None
        self._key: tuple[int, int] | None = None

    def acquire(self) -> None:
        d = self.path
        try:
            d.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise LogDirError(f"log dir {d} is not a directory") from None
        except OSError as exc:
            raise LogDirError(f"cannot create log dir {d}: {_reason(exc)}") from None
        try:
            st = os.stat(d)
        except OSError as exc:
            raise LogDirError(f"cannot read log dir {d}: {_reason(exc)}") from None
        key = (st.st_dev, st.st_ino)
        with _held_guard:
            if key in _held:
                raise LogDirError(_locked_message(d))
            try:
                fd = os.open(d / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise LogDirError(f"cannot write to log dir {d}: {_reason(exc)}") from None
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EACCES, errno.EAGAIN):
                    raise LogDirError(_locked_message(d)) from None
                raise LogDirError(f"cannot lock log dir {d}: {_reason(exc)}") from None
            _held[key] = d
        self._fd, self._key = fd, key

    def release(self) -> None:
        """Drop the lock (closing the file drops it); the file stays, as Kafka's does."""
        fd, key = self._fd, self._key
        if fd is None or key is None:
            return
        with _held_guard:
            os.close(fd)
            del _held[key]
        self._fd = self._key = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def lock_log_dirs(dirs: list[str] | list[Path]) -> list[DirLock]:
    """Lock every log dir, in order, or none: on a failure the locks taken are released and
    the ``LogDirError`` of the failing dir is raised."""
    locks: list[DirLock] = []
    try:
        for d in dirs:
            lock = DirLock(d)
            lock.acquire()
            locks.append(lock)
    except BaseException:
        release_all(locks)
        raise
    return locks


def release_all(locks: list[DirLock]) -> None:
    for lock in reversed(locks):
        lock.release()


def _locked_message(d: Path) -> str:
    # Kafka's own words (LogManager), so both brokers say the same about a shared dir.
    return (
        f"Failed to acquire lock on file {LOCK_FILE} in {d}. "
        "A Kafka instance in another process or thread is using this directory."
    )


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
