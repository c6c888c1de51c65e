"""Sparse offset and time indexes of a segment, in Kafka's file formats.

OffsetIndex (``.index``): 8-byte entries, big-endian int32 offset relative to the segment's
base offset and int32 byte position of a batch in the ``.log`` file; the offset is that
batch's last one, as Kafka writes it (files of older kpy hold its first; a lookup scans
forward from the entry either way).
TimeIndex (``.timeindex``): 12-byte entries, int64 timestamp and int32 relative offset; a
timestamp only gets an entry when it is larger than the last one.

Entries are kept in memory (arrays); the ones not yet on disk are appended to the file when
the segment is flushed or closed (Kafka's mmapped indexes likewise reach the disk at flush), so
producing costs no index syscalls. The files are derived data: after an unclean shutdown the
indexes of every segment past the recovery point are rebuilt from the log, and a file that is
missing or fails its sanity check is rebuilt too. Unlike Kafka the files are not preallocated,
so their size always equals their content.
"""

from __future__ import annotations

import bisect
import os
import struct
import threading
from array import array
from pathlib import Path

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")


class IndexCorrupt(ValueError):
    pass


class _IndexFile:
    """What both indexes share: the entry arrays' file, appended to as entries are added."""

    ENTRY = 8
    ENTRY_FORMAT = _OFFSET_ENTRY

    def __init__(self, path: Path, base_offset: int, max_bytes: int) -> None:
        self.path = path
        self.base_offset = base_offset
        self.max_entries = max(max_bytes // self.ENTRY, 1)
        self.offsets = array("q")
        self._clear()
        self._written = 0  # entries already in the file
        # Flushes run in a worker thread: writing pending entries and rewriting the file
        # (truncation) must not interleave.
        self._file_lock = threading.Lock()

    def _clear(self) -> None:
        raise NotImplementedError

    def _entries(self, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        """The file's (a, b) entry fields for entries [start, end)."""
        raise NotImplementedError

    def _read_file(self) -> bytes:
        data = self.path.read_bytes()
        if len(data) % self.ENTRY:
            raise IndexCorrupt(
                f"{self.path.name}: size {len(data)} is not a multiple of {self.ENTRY}"
            )
        return data

    def open(self) -> None:
        """Nothing to do: the file is opened only while pending entries are written, so a
        broker with many partitions holds one descriptor per partition (its active .log)."""

    def reset(self) -> None:
        """Forget every entry and empty the file."""
        self._clear()
        self._rewrite()

    @property
    def full(self) -> bool:
        return len(self.offsets) >= self.max_entries

    def _rewrite(self) -> None:
        with self._file_lock:
            entries = self._entries()
            data = b"".join(self.ENTRY_FORMAT.pack(a, b) for a, b in entries)
            with open(self.path, "wb") as f:
                f.write(data)
            self._written = len(entries)

    def _write_pending(self, *, sync: bool) -> None:
        """Append the entries added since the last write (and fsync with ``sync``)."""
        with self._file_lock:
            end = len(self.offsets)
            pending = self._entries(self._written, end) if end > self._written else []
            try:
                # No O_CREAT: never recreate the index of a segment deleted meanwhile.
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            except FileNotFoundError:
                return
            try:
                if pending:
                    data = b"".join(self.ENTRY_FORMAT.pack(a, b) for a, b in pending)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    self._written = end
                if sync:
                    os.fsync(fd)
            finally:
                os.close(fd)

    def flush(self) -> None:
        self._write_pending(sync=True)

    def close(self) -> None:
        self._write_pending(sync=False)


class OffsetIndex(_IndexFile):
    ENTRY = 8
    ENTRY_FORMAT = _OFFSET_ENTRY

    def _clear(self) -> None:
        self.offsets = array("q")
        self.positions = array("q")

    def _entries(self, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        base = self.base_offset
        return [
            (o - base, p)
            for o, p in zip(self.offsets[start:end], self.positions[start:end], strict=True)
        ]

    def load(self, log_size: int) -> None:
        """Read the file; IndexCorrupt if it cannot be trusted."""
        last_off, last_pos = -1, -1
        for rel, pos in _OFFSET_ENTRY.iter_unpack(self._read_file()):
            off = self.base_offset + rel
            if off <= last_off or pos <= last_pos and last_pos >= 0 or pos >= log_size:
                raise IndexCorrupt(
                    f"{self.path.name}: entry ({off}, {pos}) out of order or past the log"
                )
            self.offsets.append(off)
            self.positions.append(pos)
            last_off, last_pos = off, pos
        self._written = len(self.offsets)

    def append(self, offset: int, position: int) -> None:
        if self.offsets and offset <= self.offsets[-1]:
            return
        self.offsets.append(offset)
        self.positions.append(position)

    def lookup(self, offset: int) -> tuple[int, int]:
        """The last entry at or below ``offset``: (offset, position); (base, 0) if none."""
        i = bisect.bisect_right(self.offsets, offset) - 1
        if i < 0:
            return self.base_offset, 0
        return self.offsets[i], self.positions[i]

    def truncate_to_position(self, position: int) -> None:
        """Drop entries at or beyond ``position`` and rewrite the file."""
        i = bisect.bisect_left(self.positions, position)
        if i == len(self.positions):
            return
        del self.offsets[i:]
        del self.positions[i:]
        self._rewrite()


class TimeIndex(_IndexFile):
    ENTRY = 12
    ENTRY_FORMAT = _TIME_ENTRY

    def _clear(self) -> None:
        self.timestamps = array("q")
        self.offsets = array("q")

    def _entries(self, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        base = self.base_offset
        return [
            (t, o - base)
            for t, o in zip(self.timestamps[start:end], self.offsets[start:end], strict=True)
        ]

    def load(self, next_offset: int) -> None:
        last_ts, last_off = -(2**63), -1
        for ts, rel in _TIME_ENTRY.iter_unpack(self._read_file()):
            off = self.base_offset + rel
            if ts < last_ts or off < last_off or off >= next_offset:
                raise IndexCorrupt(
                    f"{self.path.name}: entry ({ts}, {off}) out of order or past the log"
                )
            self.timestamps.append(ts)
            self.offsets.append(off)
            last_ts, last_off = ts, off
        self._written = len(self.offsets)

    @property
    def last_timestamp(self) -> int:
        return self.timestamps[-1] if self.timestamps else -1

    def maybe_append(self, timestamp: int, offset: int) -> None:
        if self.timestamps and timestamp <= self.timestamps[-1]:
            return
        self.timestamps.append(timestamp)
        self.offsets.append(offset)

    def lookup(self, timestamp: int) -> int:
        """Offset of the last entry with a timestamp below ``timestamp`` (base if none)."""
        i = bisect.bisect_left(self.timestamps, timestamp) - 1
        return self.base_offset if i < 0 else self.offsets[i]

    def truncate_to_offset(self, offset: int) -> None:
        i = bisect.bisect_left(self.offsets, offset)
        if i == len(self.offsets):
            return
        del self.timestamps[i:]
        del self.offsets[i:]
        self._rewrite()
