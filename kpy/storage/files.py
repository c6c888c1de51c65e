"""Small file helpers with the durability rules of the storage layer."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("kpy.storage")


def fsync_path(path: str | os.PathLike[str]) -> None:
    """fsync a file or a directory by name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename or create inside ``path`` durable."""
    fsync_path(path)


def atomic_write(path: str | os.PathLike[str], data: bytes, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file:
    write a temp file, fsync it, rename it over the target, fsync the directory. Without
    ``sync`` the fsyncs are left to the caller (``fsync_file``), for a file whose loss on a
    power failure only costs a rebuild."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sync:
        fsync_dir(path.parent)


def fsync_file(path: str | os.PathLike[str]) -> None:
    """fsync a file written earlier, then its directory (which holds its name)."""
    fsync_path(path)
    fsync_dir(Path(path).parent)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[tuple[str, int], int]:
    """Kafka's offset checkpoint text format: a version line (0), a count line, then one
    'topic partition offset' line per partition. A missing file is empty; a malformed one is
    logged and treated as empty too (for the recovery point that means a full recovery)."""
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        return {}
    try:
        if len(lines) < 2 or lines[0].strip() != "0":
            raise ValueError("bad version or count line")
        count = int(lines[1])
        result = {}
        for line in lines[2 : 2 + count]:
            topic, partition, offset = line.rsplit(" ", 2)
            result[(topic, int(partition))] = int(offset)
        if len(result) != count:
            raise ValueError(f"{len(result)} entries, expected {count}")
    except (ValueError, UnicodeDecodeError) as exc:
        log.warning("%s: ignoring malformed checkpoint file (%s)", path, exc)
        return {}
    return result


def write_checkpoint(path: str | os.PathLike[str], entries: dict[tuple[str, int], int]) -> None:
    body = "".join(f"{t} {p} {o}\n" for (t, p), o in sorted(entries.items()))
    atomic_write(path, f"0\n{len(entries)}\n{body}".encode())


class DeferredCloser:
    """File descriptors of deleted segments, closed only after ``delay_ms``.

    Reads hand out FileRegion(fd, ...) objects that the network layer sends later with
    sendfile. Closing a deleted segment's fd at once could let the number be reused by an
    unrelated file before the send, which would then send the wrong bytes. The files are
    unlinked immediately (an open fd keeps the data readable); the fds wait here, like
    Kafka's file.delete.delay.ms. ``reap`` is cheap and is called from housekeeping.
    """

    def __init__(self, delay_ms: int = 60_000) -> None:
        self.delay_ms = delay_ms
        self._pending: list[tuple[int, int]] = []  # (close at ms, fd)

    def add(self, fd: int, now_ms: int) -> None:
        if fd >= 0:
            self._pending.append((now_ms + self.delay_ms, fd))

    def reap(self, now_ms: int | None = None) -> int:
        """Close the fds whose delay has passed (all of them when ``now_ms`` is None)."""
        keep, closed = [], 0
        for due, fd in self._pending:
            if now_ms is None or due <= now_ms:
                try:
                    os.close(fd)
                except OSError:
                    pass
                closed += 1
            else:
                keep.append((due, fd))
        self._pending = keep
        return closed

    def __len__(self) -> int:
        return len(self._pending)
