"""Opening a partition log at start-up, with recovery after an unclean shutdown.

A clean shutdown leaves ``.kafka_cleanshutdown`` in the log dir (see manager.py): then every
segment is trusted and only its indexes are sanity-checked (rebuilt if missing or corrupt).
Without the marker, each segment that may hold data past the recovery point (the offset up to
which everything was fsynced) is re-read batch by batch: size, magic, CRC
(``records.validate_batch``) and offsets increasing. The log is cut at the first invalid
batch, later segments are deleted, the indexes of re-read segments are rebuilt, and every
such action is logged at WARNING with the partition, the segment and the byte count.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kpy.protocol import records
from kpy.protocol.records import BATCH_OVERHEAD, LOG_OVERHEAD, read_header
from kpy.storage.segment import LogSegment, list_segments

if TYPE_CHECKING:
    from kpy.storage.log import Log

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


def load_segments(
    lg: Log, *, recovery_point: int, clean: bool, now_ms: int
) -> tuple[list[LogSegment], RecoveryReport]:
    """Open the segments of ``lg``'s directory, oldest first, recovering as described above."""
    report = RecoveryReport()
    segments: list[LogSegment] = []
    bases = list_segments(lg.dir)
    for i, base in enumerate(bases):
        seg = lg.segment_obj(base, now_ms)
        # A segment needs re-validation if any of its data may lie past the recovery point.
        recover = not clean and (i + 1 >= len(bases) or bases[i + 1] > recovery_point)
        if recover:
            report.recovered_segments.append(base)
        truncated = seg.load(recover=recover)
        segments.append(seg)
        first = seg.read_bytes(0, BATCH_OVERHEAD)
        if len(first) == BATCH_OVERHEAD:
            ts = read_header(first).max_timestamp
            seg.created_ms = ts if ts >= 0 else now_ms
        if truncated:
            report.truncated_bytes += truncated
            report.truncated_segment = base
            log.warning(
                "%s-%d: recovery truncated %d bytes of segment %s; log end offset now %d",
                lg.topic,
                lg.partition,
                truncated,
                seg.log_path.name,
                seg.next_offset,
            )
        if truncated and i + 1 < len(bases):
            # Everything after an invalid batch is gone, later segments included.
            for later in bases[i + 1 :]:
                s = lg.segment_obj(later, now_ms)
                log.warning(
                    "%s-%d: recovery deleted segment %s (after the truncation point)",
                    lg.topic,
                    lg.partition,
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
