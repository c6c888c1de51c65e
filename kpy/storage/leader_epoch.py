"""The leader epoch cache of a partition: which leader epoch started at which offset.

File ``leader-epoch-checkpoint`` in the partition directory, Kafka's text format, rewritten
atomically on every change (temp, fsync, rename)::

    0                      <- format version
    2                      <- number of entries
    0 0                    <- "<leader epoch> <start offset>", epochs and offsets increasing
    3 120

Invariants: epochs strictly increase and start offsets never decrease; no entry starts past
the log end offset (truncation drops them) and, once the log start offset passes an epoch's
start, that entry is moved up to the log start offset (older entries dropped), as in Kafka.
An unreadable file is treated as empty: the cache then starts again with the next append.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kpy.storage.files import atomic_write

log = logging.getLogger("kpy.storage")

FILE_NAME = "leader-epoch-checkpoint"
UNDEFINED = (-1, -1)  # Kafka's UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET


class LeaderEpochCache:
    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME
        self.entries: list[tuple[int, int]] = []  # (leader epoch, start offset)

    # -- file -----------------------------------------------------------------------------

    def load(self) -> None:
        """Read the checkpoint (a missing or malformed one leaves the cache empty)."""
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            self.entries = []
            return
        try:
            if lines[0].strip() != "0":
                raise ValueError(f"unknown version {lines[0]!r}")
            count = int(lines[1])
            entries = [(int(a), int(b)) for a, b in (ln.split() for ln in lines[2 : 2 + count])]
            if len(entries) != count:
                raise ValueError(f"{len(entries)} entries, expected {count}")
        except (ValueError, IndexError) as exc:
            log.warning(
                "%s: unreadable leader epoch checkpoint, starting empty (%s)", self.path, exc
            )
            entries = []
        self.entries = entries

    def save(self) -> None:
        body = "".join(f"{e} {o}\n" for e, o in self.entries)
        atomic_write(self.path, f"0\n{len(self.entries)}\n{body}".encode())

    # -- changes --------------------------------------------------------------------------

    @property
    def latest_epoch(self) -> int:
        return self.entries[-1][0] if self.entries else -1

    def assign(self, epoch: int, start_offset: int) -> bool:
        """Record that ``epoch`` starts at ``start_offset`` if it is newer than the latest;
        returns whether the cache (and file) changed."""
        if epoch < 0 or epoch <= self.latest_epoch:
            return False
        self.entries.append((epoch, start_offset))
        self.save()
        return True

    def truncate_from_end(self, end_offset: int) -> None:
        """Forget epochs starting at or after ``end_offset`` (the log was cut there)."""
        kept = [(e, o) for e, o in self.entries if o < end_offset]
        if kept != self.entries:
            self.entries = kept
            self.save()

    def truncate_from_start(self, start_offset: int) -> None:
        """The log now starts at ``start_offset``: the epoch holding it starts there."""
        below = [i for i, (_, o) in enumerate(self.entries) if o <= start_offset]
        if not below or (below[-1] == 0 and self.entries[0][1] == start_offset):
            return
        last = below[-1]
        self.entries = [(self.entries[last][0], start_offset)] + self.entries[last + 1 :]
        self.save()

    # -- queries ---------------------------------------------------------------------------

    def end_offset_for(self, epoch: int, log_end_offset: int) -> tuple[int, int]:
        """(epoch, end offset) like Kafka's LeaderEpochFileCache.endOffsetFor: the latest
        epoch ends at the log end offset; an older one at the start of the next known
        epoch, reported as the largest known epoch <= ``epoch`` (or ``epoch`` itself when it
        predates every entry); an unknown newer epoch gives (-1, -1)."""
        if epoch < 0 or not self.entries:
            return UNDEFINED
        if epoch == self.latest_epoch:
            return epoch, log_end_offset
        higher = next((i for i, (e, _) in enumerate(self.entries) if e > epoch), None)
        if higher is None:
            return UNDEFINED
        end = self.entries[higher][1]
        return (epoch if higher == 0 else self.entries[higher - 1][0]), end

    def epoch_for_offset(self, offset: int) -> int:
        """The epoch the record at ``offset`` was written in (-1 if unknown)."""
        result = -1
        for e, start in self.entries:
            if start > offset:
                break
            result = e
        return result
