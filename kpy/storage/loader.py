"""Opening a partition log at start-up, with recovery after an unclean shutdown.

A clean shutdown leaves ``.kafka_cleanshutdown`` in the log dir (see manager.py): then every
segment is trusted and only its indexes are sanity-checked (rebuilt if missing or corrupt).
Without the marker, each segment that may hold data past the recovery point (the offset up to
which everything was fsynced) is re-read batch by batch: size, magic, CRC
(``records.validate_batch``) and offsets increasing. The log is cut at the first invalid
batch, later segments are deleted, the indexes of re-read segments are rebuilt, and every
such action is logged at WARNING with the partition, the segment and the byte count.

Before any segment is opened, what an interrupted cleaner swap left is settled (see
cleaner.py for the swap protocol): a ``<base>.log.swap`` file was committed and replaces
every segment whose offsets it covers (``complete_swap``); ``.cleaned`` files (never
committed) and ``.deleted`` leftovers are removed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kpy.protocol import records
from kpy.protocol.records import BATCH_OVERHEAD, LOG_OVERHEAD, read_header
from kpy.storage.files import fsync_dir
from kpy.storage.segment import LogSegment, segment_name

log = logging.getLogger("kpy.storage")


@dataclass
class RecoveryReport:
    """What loading a log did; empty lists and 0 after a clean start."""

    recovered_segments: list[int] = field(default_factory=list)  # base offsets re-validated
    truncated_bytes: int = 0
    truncated_segment: int | None = None  # base offset of the segment that was cut
    deleted_segments: list[int] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.truncated_bytes > 0 or bool(self.deleted_segments)


def recover_segment(seg: LogSegment, *, validate: bool) -> int:
    """Rebuild ``seg``'s indexes from its log file. With ``validate`` every batch's CRC is
    checked; the file is truncated at the first batch that is incomplete, invalid or whose
    offsets go backwards. Returns the number of bytes truncated."""
    seg.reset_indexes()
    pos = 0
    end = seg.size
    while pos < end:
        reason = None
        head = os.pread(seg.fd, BATCH_OVERHEAD, pos)
        if len(head) < BATCH_OVERHEAD:
            reason = f"incomplete batch header ({len(head)} bytes)"
        else:
            size = records.batch_size_at(head) if len(head) >= LOG_OVERHEAD else 0
            if size < BATCH_OVERHEAD or pos + size > end:
                reason = f"incomplete batch (size {size}, {end - pos} bytes left)"
        if reason is None:
            try:
                if validate:
                    h = records.validate_batch(os.pread(seg.fd, size, pos))
                else:
                    h = read_header(head)
            except records.InvalidBatch as exc:
                reason = f"invalid batch: {exc}"
            else:
                if h.base_offset < seg.next_offset or h.base_offset < seg.base_offset:
                    reason = f"offset {h.base_offset} below {seg.next_offset}"
        if reason is not None:
            log.warning(
                "%s: %s at position %d, truncating %d bytes",
                seg.log_path,
                reason,
                pos,
                end - pos,
            )
            break
        seg.note_batch(h, index=True, position=pos)
        pos += h.size
    truncated = seg.size - pos
    if truncated:
        os.ftruncate(seg.fd, pos)
        seg.size = pos
    seg.index.open()
    seg.time_index.open()
    return truncated


def open_segment(seg: LogSegment, *, recover: bool) -> int:
    """Open an existing segment. With ``recover`` (unclean shutdown, past the recovery
    point) every batch is re-validated and the file cut after the last valid one; the
    indexes are rebuilt then, and also whenever they are missing or fail their sanity
    check. Returns the number of bytes truncated."""
    seg.open_existing()
    if not recover:
        problem = seg.load_indexes()
        if problem is None:
            return 0
        log.warning("%s: %s, rebuilding indexes", seg.log_path, problem)
    return recover_segment(seg, validate=recover)


def load_segments(
    directory: Path,
    new_segment: Callable[[int], LogSegment],
    *,
    name: str,
    recovery_point: int,
    clean: bool,
    now_ms: int,
) -> tuple[list[LogSegment], RecoveryReport]:
    """Open the segments of ``directory`` (``new_segment(base)`` makes the object of one),
    oldest first, recovering as described above; ``name`` (topic-partition) is for the log."""
    report = RecoveryReport()
    segments: list[LogSegment] = []
    bases = list_segments(directory)
    for i, base in enumerate(bases):
        seg = new_segment(base)
        # A segment needs re-validation if any of its data may lie past the recovery point.
        recover = not clean and (i + 1 >= len(bases) or bases[i + 1] > recovery_point)
        if recover:
            report.recovered_segments.append(base)
        truncated = open_segment(seg, recover=recover)
        segments.append(seg)
        first = seg.read_bytes(0, BATCH_OVERHEAD)
        if len(first) == BATCH_OVERHEAD:
            ts = read_header(first).max_timestamp
            seg.created_ms = ts if ts >= 0 else now_ms
        if truncated:
            report.truncated_bytes += truncated
            report.truncated_segment = base
            log.warning(
                "%s: recovery truncated %d bytes of segment %s; log end offset now %d",
                name,
                truncated,
                seg.log_path.name,
                seg.next_offset,
            )
        if truncated and i + 1 < len(bases):
            # Everything after an invalid batch is gone, later segments included.
            for later in bases[i + 1 :]:
                s = new_segment(later)
                log.warning(
                    "%s: recovery deleted segment %s (after the truncation point)",
                    name,
                    s.log_path.name,
                )
                s.delete()
                report.deleted_segments.append(later)
            break
    # Drop empty trailing segments left by an interrupted roll, except the only one.
    while len(segments) > 1 and segments[-1].size == 0 and segments[-2].size > 0:
        if segments[-1].base_offset == segments[-2].next_offset:
            break
        seg = segments.pop()
        log.warning("%s: deleting empty segment with a wrong base offset", seg.log_path)
        seg.delete()
    return segments, report


def list_segments(directory: Path) -> list[int]:
    """Base offsets of the segments in ``directory``, after finishing or discarding what an
    interrupted cleaner left: a ``.swap`` file is committed and replaces the segments it
    covers; ``.cleaned`` files (not committed) and ``.deleted`` files go."""
    for name in sorted(os.listdir(directory)):
        if name.endswith(".log.swap") and name.split(".", 1)[0].isdigit():
            complete_swap(directory, name)
    bases = []
    for name in os.listdir(directory):
        if name.endswith(".log") and name[:-4].isdigit():
            bases.append(int(name[:-4]))
        elif name.endswith((".cleaned", ".swap", ".deleted")):
            # Uncommitted leftovers; the .log files are authoritative.
            try:
                os.unlink(directory / name)
            except OSError:
                pass
    return sorted(bases)


def complete_swap(directory: Path, swap_name: str) -> None:
    """Finish a swap interrupted by a crash: the ``.swap`` file is the new version of every
    segment whose base offset it covers; those go and the swap becomes ``<base>.log``."""
    base = int(swap_name.split(".", 1)[0])
    swap = directory / swap_name
    next_offset = base
    with open(swap, "rb") as f:
        pos = 0
        while True:
            f.seek(pos)
            head = f.read(BATCH_OVERHEAD)
            if len(head) < BATCH_OVERHEAD:
                break
            h = read_header(head)
            next_offset = h.next_offset
            pos += h.size
    for name in os.listdir(directory):
        stem, _, suffix = name.partition(".")
        if stem.isdigit() and suffix in ("log", "index", "timeindex", "txnindex"):
            b = int(stem)
            if b == base or base <= b < next_offset:
                _unlink(directory / name)
    os.rename(swap, directory / f"{segment_name(base)}.log")
    fsync_dir(directory)
    log.warning("%s: completed an interrupted cleaner swap of segment %d", directory, base)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
