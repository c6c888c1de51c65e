"""The transaction index of a segment (``<base offset>.txnindex``), in Kafka's file format.

Each entry describes one aborted transaction whose abort marker lies in the segment:
34 bytes, big-endian: int16 version (0), int64 producer id, int64 first offset, int64 last
offset (the abort marker), int64 last stable offset at the time of the abort. Entries are in
the order the markers were written. Fetch uses them to tell read_committed consumers which
producer ranges to drop.

Like the other indexes this is derived data: it can be rebuilt from the log (the control
batches and the producer state). This module only knows the file; deciding what goes in it
belongs to the transactions work.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from kpy.storage.index import IndexCorrupt

_ENTRY = struct.Struct(">hqqqq")
ENTRY_SIZE = _ENTRY.size  # 34
VERSION = 0


@dataclass(frozen=True, slots=True)
class AbortedTxn:
    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int


class TransactionIndex:
    """In-memory list of AbortedTxn mirrored to an append-only file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[AbortedTxn] = []

    def load(self) -> None:
        """Read the file if it exists; IndexCorrupt if it cannot be trusted."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self.entries = []
            return
        if len(data) % ENTRY_SIZE:
            raise IndexCorrupt(f"{self.path.name}: size {len(data)} is not a multiple of 34")
        entries = []
        for version, pid, first, last, lso in _ENTRY.iter_unpack(data):
            if version != VERSION or first > last:
                raise IndexCorrupt(f"{self.path.name}: bad entry ({version}, {pid}, {first})")
            entries.append(AbortedTxn(pid, first, last, lso))
        self.entries = entries

    def append(self, txn: AbortedTxn) -> None:
        if self.entries and txn.last_offset < self.entries[-1].last_offset:
            raise ValueError("aborted transactions must be appended in marker order")
        self.entries.append(txn)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, _pack(txn))
        finally:
            os.close(fd)

    def collect(self, fetch_offset: int, upper_offset: int) -> list[AbortedTxn]:
        """Aborted transactions overlapping [fetch_offset, upper_offset)."""
        return [
            t
            for t in self.entries
            if t.last_offset >= fetch_offset and t.first_offset < upper_offset
        ]

    def truncate_to(self, offset: int) -> None:
        """Drop entries whose marker is at or after ``offset``."""
        kept = [t for t in self.entries if t.last_offset < offset]
        if len(kept) != len(self.entries):
            self.entries = kept
            self._rewrite()

    def reset(self) -> None:
        self.entries = []
        self._rewrite()

    def _rewrite(self) -> None:
        if not self.entries:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            return
        self.path.write_bytes(b"".join(_pack(t) for t in self.entries))

    def flush(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _pack(t: AbortedTxn) -> bytes:
    return _ENTRY.pack(VERSION, t.producer_id, t.first_offset, t.last_offset, t.last_stable_offset)
