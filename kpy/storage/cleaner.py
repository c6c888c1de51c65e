"""Log compaction: keep the latest record per key in the cleanable part of a log.

A log whose ``cleanup.policy`` contains ``compact`` has a *clean* head (already compacted,
below the first dirty offset recorded in ``cleaner-offset-checkpoint``), a *dirty* middle and
an uncleanable tail: the active segment, anything at or past the first unstable offset (open
transactions) and segments with records younger than ``min.compaction.lag.ms``. A pass:

1. maps key -> latest offset over whole dirty segments (at most ``max_segments`` of them and
   about ``max_keys`` keys, so memory is bounded); aborted transactional data and control
   batches are not mapped;
2. rewrites every segment from the log start up to the end of the mapped range, in groups
   of consecutive segments that fit in ``segment.bytes``, keeping a record unless a later
   offset of the same key is mapped. Offsets, batch boundaries and producer fields are kept
   (a batch may become empty but keeps its offset range when it is its producer's last).
   Tombstones and transaction markers are kept until their batch's delete horizon (stamped
   as ``now + delete.retention.ms`` the first time the batch is cleaned, in the batch's
   baseTimestamp with the hasDeleteHorizonMs attribute, as Kafka does) has passed; a marker
   also stays while data of its transaction remains. Data of aborted transactions is
   dropped;
3. swaps each group crash-safely: write the new segment as ``<base>.log.cleaned`` (its
   indexes as ``<base>.index.cleaned`` and so on, built as it is written) and fsync it; then,
   holding the log's lock and only if the group is still in the log, rename the log file to
   ``<base>.log.swap`` (the commit point), delete the old segments' files, rename the new
   files to their final names and put the segment in the list. On start-up the loader
   deletes ``.cleaned`` files and completes any ``.swap`` (loader.complete_swap), so each
   segment is either its old or its new version (indexes missing then are rebuilt).

Locking: the segment list is only walked under the log's lock; the slow part (reading the
dirty segments, writing the cleaned file) works on the segments picked under it. Retention,
DeleteRecords or a truncation may delete one of them meanwhile: the pass then stops
(SegmentsChanged) and the next one starts afresh. Any other I/O error takes the log dir
offline, as Kafka's cleaner does.

The checkpoint file holds, per partition, the offset below which the log is clean.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kpy.protocol import records
from kpy.protocol.records import BatchHeader, read_header
from kpy.storage.errors import KafkaStorageError
from kpy.storage.files import fsync_dir, read_checkpoint, write_checkpoint
from kpy.storage.log_dir_failure import LogDirFailureChannel
from kpy.storage.segment import LogSegment, segment_name
from kpy.storage.txn_index import AbortedTxn

if TYPE_CHECKING:
    from kpy.storage.log import Log

log = logging.getLogger("kpy.storage.cleaner")

CHECKPOINT = "cleaner-offset-checkpoint"
_INDEX_SUFFIXES = (".index", ".timeindex", ".txnindex")


class SegmentsChanged(ValueError):
    """Segments being cleaned were deleted or replaced meanwhile; the next pass retries."""


@dataclass
class CleanResult:
    """What one pass over one log did."""

    segments_before: int = 0
    segments_after: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    records_removed: int = 0
    first_dirty: int = 0  # the new clean/dirty boundary
    next_horizon_ms: int | None = None  # earliest delete horizon written or seen


def is_compacted(lg: Log) -> bool:
    return "compact" in lg.config.cleanup_policy


def first_uncleanable_offset(lg: Log, now_ms: int) -> int:
    """Segments wholly below this offset may be cleaned (a segment boundary)."""
    with lg.lock:
        segments = lg.segments
        unstable = lg.producer_state.first_unstable_offset()
    limit = segments[-1].base_offset
    if unstable is not None:
        limit = min(limit, unstable)
    lag = lg.config.min_compaction_lag_ms
    end = segments[0].base_offset
    for seg in segments[:-1]:
        if seg.next_offset > limit:
            break
        if lag > 0 and seg.max_timestamp >= 0 and now_ms - seg.max_timestamp < lag:
            break
        end = seg.next_offset
    # Whole segments only: the end is the base of the first segment not wholly below it.
    for seg in segments:
        if seg.base_offset >= end:
            return seg.base_offset
    return end


def dirty_ratio(lg: Log, first_dirty: int, end: int) -> tuple[float, int]:
    """(dirty bytes / cleanable bytes, dirty bytes) for [log start, end)."""
    clean = dirty = 0
    for seg in lg.segments:  # a copy, taken under the log's lock
        if seg.base_offset >= end:
            break
        if seg.base_offset >= first_dirty:
            dirty += seg.size
        else:
            clean += seg.size
    total = clean + dirty
    return (dirty / total if total else 0.0), dirty


def _aborted(segments: list[LogSegment], lo: int, hi: int) -> list[AbortedTxn]:
    out: list[AbortedTxn] = []
    for seg in segments:
        out.extend(seg.txn_index.collect(lo, hi))
    return out


def _is_aborted(h: BatchHeader, aborted: list[AbortedTxn]) -> bool:
    if not h.is_transactional or h.is_control:
        return False
    return any(
        t.producer_id == h.producer_id and t.first_offset <= h.base_offset <= t.last_offset
        for t in aborted
    )


def _batches(seg: LogSegment) -> Iterable[tuple[BatchHeader, bytes]]:
    for pos, h in seg.scan(0):
        yield h, seg.read_bytes(pos, h.size)


def build_offset_map(
    segments: list[LogSegment], aborted: list[AbortedTxn], max_keys: int
) -> tuple[dict[bytes, int], int]:
    """key -> latest offset over whole segments, stopping after the segment that reaches
    ``max_keys``; returns the map and the end offset of the last mapped segment."""
    offsets: dict[bytes, int] = {}
    end = segments[0].base_offset if segments else 0
    for seg in segments:
        for h, data in _batches(seg):
            if h.is_control or _is_aborted(h, aborted):
                continue
            for r in records.iter_records(data):
                if r.key is not None:
                    offsets[bytes(r.key)] = h.base_offset + r.offset_delta
        end = seg.next_offset
        if len(offsets) >= max_keys:
            break
    return offsets, end


class _GroupWriter:
    """Filters the batches of one group of segments into the bytes of its cleaned segment."""

    def __init__(self, lg: Log, offsets: dict[bytes, int], aborted: list[AbortedTxn], now: int):
        self.lg = lg
        self.offsets = offsets
        self.aborted = aborted
        self.now = now
        self.horizon = now + lg.config.delete_retention_ms
        self.txn_data: dict[int, bool] = {}  # producer id -> retained data in its open txn
        self.removed = 0
        self.next_horizon: int | None = None

    def _note_horizon(self, h: int) -> None:
        if self.next_horizon is None or h < self.next_horizon:
            self.next_horizon = h

    def _is_producers_last(self, h: BatchHeader) -> bool:
        entry = self.lg.producer_state.producers.get(h.producer_id)
        return entry is not None and entry.last_offset == h.last_offset

    def filter(self, h: BatchHeader, data: bytes) -> bytes | None:
        expired = h.has_delete_horizon and h.base_timestamp <= self.now
        if h.is_control:
            needed = self.txn_data.pop(h.producer_id, False)
            if needed or not expired:
                if h.has_delete_horizon:
                    self._note_horizon(h.base_timestamp)
                    return data
                if needed:
                    return data
                return self._rebuild(h, data, records.decode_records(data), self.horizon)
            self.removed += h.record_count
            return None
        if _is_aborted(h, self.aborted):
            self.removed += h.record_count
            return None
        recs = records.decode_records(data)
        kept = []
        tombstones = False
        for r in recs:
            offset = h.base_offset + r.offset_delta
            if r.key is not None and self.offsets.get(bytes(r.key), -1) > offset:
                continue
            if r.value is None:
                if expired:
                    continue
                tombstones = True
            kept.append(r)
        self.removed += len(recs) - len(kept)
        if kept and h.is_transactional:
            self.txn_data[h.producer_id] = True
        if tombstones and not h.has_delete_horizon:
            return self._rebuild(h, data, kept, self.horizon)
        if tombstones:
            self._note_horizon(h.base_timestamp)
        if len(kept) == len(recs):
            return data
        if not kept and not (h.producer_id >= 0 and self._is_producers_last(h)):
            return None
        return self._rebuild(h, data, kept, h.base_timestamp if h.has_delete_horizon else None)

    def _rebuild(
        self, h: BatchHeader, data: bytes, kept: list[records.Record], horizon: int | None
    ) -> bytes:
        if horizon is not None:
            self._note_horizon(horizon)
        return bytes(
            records.build_batch(
                kept,
                base_offset=h.base_offset,
                base_timestamp=h.base_timestamp,
                compression=h.compression,
                producer_id=h.producer_id,
                producer_epoch=h.producer_epoch,
                base_sequence=h.base_sequence,
                is_transactional=h.is_transactional,
                is_control=h.is_control,
                partition_leader_epoch=h.partition_leader_epoch,
                timestamp_type=1 if h.is_log_append_time else 0,
                delete_horizon_ms=horizon,
                max_timestamp=h.max_timestamp,
                last_offset_delta=h.last_offset_delta,
            )
        )


def group_segments(segments: list[LogSegment], max_bytes: int) -> list[list[LogSegment]]:
    """Consecutive segments whose total size fits ``max_bytes`` and whose offsets fit the
    4-byte relative offsets of one segment's index."""
    groups: list[list[LogSegment]] = []
    for seg in segments:
        g = groups[-1] if groups else None
        if (
            g is not None
            and sum(s.size for s in g) + seg.size <= max_bytes
            and seg.next_offset - g[0].base_offset <= 2**31 - 1
        ):
            g.append(seg)
        else:
            groups.append([seg])
    return groups


def _path(directory: Path, base: int, suffix: str) -> Path:
    return directory / f"{segment_name(base)}{suffix}"


def _write_segment(
    lg: Log, group: list[LogSegment], chunks: Iterable[bytes], now_ms: int
) -> LogSegment:
    """The cleaned version of ``group``: a new segment with every file suffixed ``.cleaned``,
    written from ``chunks`` (whole batches) and indexed as it is written, then fsynced. On
    any failure its files are removed again."""
    new = lg.segment_obj(group[0].base_offset, now_ms, ".cleaned")
    try:
        new.create()
        for chunk in chunks:
            new.append(chunk, [read_header(chunk)])
        for t in sorted((t for seg in group for t in seg.txn_index.entries), key=_last):
            new.txn_index.append(t)
        new.created_ms = group[0].created_ms
        new.flush()
    except BaseException:
        try:
            new.delete()
        except OSError:
            pass
        raise
    return new


def swap_in(lg: Log, group: list[LogSegment], chunks: Iterable[bytes], now_ms: int) -> LogSegment:
    """Replace ``group`` by one segment made of ``chunks`` (written as they come, so only
    one batch at a time is in memory), crash-safely (see the module docstring). Only
    renames and unlinks happen under the log's lock."""
    new = _write_segment(lg, group, chunks, now_ms)
    with lg.lock:
        if lg.offline or not lg.holds(group):
            # DeleteRecords, retention or a truncation got there first: give this group up.
            new.delete()
            if lg.offline:
                raise lg.offline_error()
            raise SegmentsChanged(f"segments from {new.base_offset} changed while being cleaned")
        # Retention falls back to the file's mtime for segments without timestamps: the
        # cleaned segment keeps the newest replaced file's, as Kafka's cleaner does, so
        # cleaning never makes old untimed data look new.
        newest = os.fstat(group[-1].fd)
        os.utime(new.log_path, ns=(newest.st_atime_ns, newest.st_mtime_ns))
        new.rename_files(".swap", indexes=False)  # the commit point
        fsync_dir(lg.dir)
        for seg in group:
            # Unlinking leaves the open fds readable: readers go on with the old version.
            for suffix in _INDEX_SUFFIXES:
                _unlink(_path(lg.dir, seg.base_offset, suffix))
            if seg.base_offset != new.base_offset:
                _unlink(seg.log_path)
        new.rename_files("")
        fsync_dir(lg.dir)
        lg.replace_segments(group, new)
        for seg in group:
            # Closed later (file.delete.delay.ms). seg.fd stays set: a read on the event loop
            # thread that picked the old segment just before the swap still works.
            lg.closer.add(seg.fd, now_ms)
    return new


def _last(t: AbortedTxn) -> int:
    return t.last_offset


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _filtered(writer: _GroupWriter, group: list[LogSegment]) -> Iterable[bytes]:
    for seg in group:
        for h, data in _batches(seg):
            kept = writer.filter(h, data)
            if kept is not None:
                yield kept


def clean_log(
    lg: Log,
    now_ms: int,
    first_dirty: int,
    *,
    max_segments: int = 16,
    max_keys: int = 500_000,
    force: bool = False,
) -> CleanResult | None:
    """One cleaning pass over ``lg`` if it needs one (or ``force``); None when it did not.
    Raises SegmentsChanged (retry later) and KafkaStorageError (the log dir went offline)."""
    with lg.lock:  # the segment list is walked under the log's lock only
        if lg.offline:
            raise lg.offline_error()
        segments = lg.segments
        end = first_uncleanable_offset(lg, now_ms)
        first_dirty = max(min(first_dirty, end), segments[0].base_offset)
        ratio, dirty_bytes = dirty_ratio(lg, first_dirty, end)
        aborted = _aborted(segments, segments[0].base_offset, end)
    cleanable = [s for s in segments if s.base_offset < end]
    if not cleanable:
        return None
    if not force:
        dirty = [s for s in cleanable if s.base_offset >= first_dirty]
        overdue = bool(dirty) and (
            dirty[0].first_batch_timestamp >= 0
            and now_ms - dirty[0].first_batch_timestamp > lg.config.max_compaction_lag_ms
        )
        if not dirty_bytes or (ratio < lg.config.min_cleanable_dirty_ratio and not overdue):
            return None
    dirty_segs = [s for s in cleanable if s.base_offset >= first_dirty][:max_segments]
    reading = dirty_segs
    try:
        offsets, map_end = build_offset_map(dirty_segs, aborted, max_keys)
        if not dirty_segs:
            map_end = first_dirty
        to_clean = [s for s in cleanable if s.next_offset <= map_end or s.base_offset < map_end]
        result = CleanResult(
            segments_before=len(to_clean),
            bytes_before=sum(s.size for s in to_clean),
            first_dirty=map_end,
        )
        writer = _GroupWriter(lg, offsets, aborted, now_ms)
        for group in group_segments(to_clean, lg.config.segment_bytes):
            reading = group
            new = swap_in(lg, group, _filtered(writer, group), now_ms)
            result.segments_after += 1
            result.bytes_after += new.size
    except OSError as exc:
        if not lg.holds(reading):
            # A segment was deleted under the cleaner (its fd closed): not a disk error.
            raise SegmentsChanged(f"{lg.topic}-{lg.partition}: segments deleted") from exc
        raise lg.storage_failure("cleaning", exc) from exc
    result.records_removed = writer.removed
    result.next_horizon_ms = writer.next_horizon
    return result


class LogCleaner:
    """Cleans the compacted logs of a set of log dirs, keeping one checkpoint per dir."""

    def __init__(
        self,
        log_dirs: list[Path],
        *,
        max_segments: int = 16,
        max_keys: int = 500_000,
        failures: LogDirFailureChannel | None = None,
    ) -> None:
        self.log_dirs = log_dirs
        self.failures = failures if failures is not None else LogDirFailureChannel()
        self.max_segments = max_segments
        self.max_keys = max_keys
        self.first_dirty: dict[Path, dict[tuple[str, int], int]] = {
            d: read_checkpoint(d / CHECKPOINT) for d in log_dirs
        }
        self._horizons: dict[tuple[str, int], int] = {}
        self.passes = 0
        self.bytes_reclaimed = 0

    def _due(self, lg: Log, now_ms: int) -> bool:
        h = self._horizons.get((lg.topic, lg.partition))
        return h is not None and h <= now_ms

    def clean(self, logs: list[Log], now_ms: int) -> int:
        """One pass over every compacted log that needs cleaning; returns how many."""
        cleaned = 0
        touched: set[Path] = set()
        for lg in logs:
            if not is_compacted(lg) or lg.offline:
                continue
            tp = (lg.topic, lg.partition)
            d = Path(lg.log_dir)
            marks = self.first_dirty.setdefault(d, {})
            first = marks.get(tp, 0)
            if first > lg.log_end_offset:
                first = 0
            try:
                result = clean_log(
                    lg,
                    now_ms,
                    first,
                    max_segments=self.max_segments,
                    max_keys=self.max_keys,
                    force=self._due(lg, now_ms),
                )
            except KafkaStorageError:
                continue  # its log dir is offline now (logged once, by the failure channel)
            except (ValueError, RuntimeError) as exc:
                # SegmentsChanged (a ValueError): retention or DeleteRecords deleted segments
                # being cleaned; RuntimeError: producer state changed under us (appends run on
                # the event loop thread). The next pass retries.
                log.error("%s-%d: cleaning failed: %s", lg.topic, lg.partition, exc)
                continue
            if result is None:
                continue
            cleaned += 1
            self.passes += 1
            self.bytes_reclaimed += result.bytes_before - result.bytes_after
            marks[tp] = result.first_dirty
            if result.next_horizon_ms is None:
                self._horizons.pop(tp, None)
            else:
                self._horizons[tp] = result.next_horizon_ms
            touched.add(d)
            log.info(
                "%s-%d: cleaned %d segments (%d bytes) into %d (%d bytes), %d records removed",
                lg.topic,
                lg.partition,
                result.segments_before,
                result.bytes_before,
                result.segments_after,
                result.bytes_after,
                result.records_removed,
            )
        for d in touched:
            live = {(lg.topic, lg.partition) for lg in logs if Path(lg.log_dir) == d}
            marks = {tp: o for tp, o in self.first_dirty[d].items() if tp in live}
            self.first_dirty[d] = marks
            if self.failures.is_offline(str(d)):
                continue
            try:
                write_checkpoint(d / CHECKPOINT, marks)
            except OSError as exc:
                self.failures.fail(str(d), "writing the cleaner checkpoint", exc)
        return cleaned

    def statistics(self) -> dict[str, int]:
        return {"passes": self.passes, "bytes_reclaimed": self.bytes_reclaimed}
