"""A partition's log: a directory of segments, the log start offset and the end offsets.

Directory ``<topic>-<partition>/`` holds the segments, ``partition.metadata`` (the topic id),
``leader-epoch-checkpoint`` and producer snapshots. Offsets are assigned on append by
rewriting each batch's baseOffset; nothing below the batch header is touched. On a single
broker the high watermark is the log end offset; the last stable offset stops at the first
open transaction.

Responsibilities kept elsewhere: the segment list and the roll rule (log_segments.py), what
retention deletes (retention.py, a pure function), opening and recovery (loader.py),
compaction (cleaner.py). Every I/O error becomes a KafkaStorageError and takes the log dir
offline (log_dir_failure.py); an offline log refuses every operation and is never fsynced
again, so its recovery point stays at the last fsync that succeeded.
"""

from __future__ import annotations

import functools
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.storage.config import LogConfig
from kpy.storage.errors import KafkaStorageError
from kpy.storage.files import DeferredCloser
from kpy.storage.leader_epoch import LeaderEpochCache
from kpy.storage.loader import RecoveryReport, load_segments
from kpy.storage.log_dir_failure import LogDirFailureChannel
from kpy.storage.log_segments import LogSegments, batches_from, should_roll
from kpy.storage.partition_metadata import read_partition_metadata, write_partition_metadata
from kpy.storage.producer_state import ActiveProducer, ProducerStateManager, marker_epoch
from kpy.storage.results import AppendResult, FileRecords, ReadResult
from kpy.storage.retention import SegmentStats, plan_retention
from kpy.storage.segment import LogSegment

if TYPE_CHECKING:
    from kpy.storage.validator import ValidatedBatch

# Re-exported: callers import these from here.
__all__ = ["AppendResult", "FileRecords", "KafkaStorageError", "Log", "LogConfig", "ReadResult"]

log = logging.getLogger("kpy.storage")

P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[Concatenate[Log, P], R]) -> Callable[Concatenate[Log, P], R]:
    """Run ``method`` holding the log's lock, then unlink the segments it detached. An
    offline log refuses it; an OSError takes the log dir offline (both KafkaStorageError)."""

    @functools.wraps(method)
    def wrapper(self: Log, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with self.lock:
                if self.log_dir in self.failures.offline:
                    raise self.offline_error()
                result = method(self, *args, **kwargs)
            if self._doomed:
                self._delete_doomed()
        except OSError as exc:
            raise self.storage_failure(method.__name__, exc) from exc
        return result

    return wrapper


class Log:
    """One partition's log.

    Thread safety: the broker appends and reads on its event loop thread while retention,
    flushes and the cleaner run in worker threads, so every method that changes or walks
    the segment list holds ``lock`` (an RLock) for the short in-memory part, and other
    threads get copies of the list (``segments``). Slow file work stays outside it:
    unlinking segments detached by retention and the fsyncs of flush(), which one
    ``_flush_lock`` keeps to one thread at a time.
    """

    def __init__(
        self,
        directory: Path,
        topic: str,
        partition: int,
        config: LogConfig,
        *,
        clock: Callable[[], float] = time.time,
        closer: DeferredCloser | None = None,
        failures: LogDirFailureChannel | None = None,
    ) -> None:
        self.dir = directory
        # Where fds of deleted segments wait before being closed (shared by the manager).
        self.closer = closer if closer is not None else DeferredCloser()
        # Shared by every log of the broker: an I/O error here takes the whole dir offline.
        self.failures = failures if failures is not None else LogDirFailureChannel()
        self.log_dir = str(directory.parent)
        self.topic = topic
        self.partition = partition
        self.config = config
        self.clock = clock
        self._segments = LogSegments()
        self.lock = threading.RLock()
        self._flush_lock = threading.Lock()
        self._doomed: list[LogSegment] = []  # detached by retention, files not yet unlinked
        self.log_start_offset = 0
        self.recovery_point = 0
        self.producer_state = ProducerStateManager(directory)
        self.epoch_cache = LeaderEpochCache(directory)
        self._unflushed = 0
        self._last_flush_ms = self._now_ms()
        self.recovery_report = RecoveryReport()
        self.topic_id: uuid.UUID | None = None  # from partition.metadata

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- failures -------------------------------------------------------------------------------

    @property
    def offline(self) -> bool:
        """Whether this log's dir is offline (see log_dir_failure.py)."""
        return self.log_dir in self.failures.offline

    def offline_error(self) -> KafkaStorageError:
        return KafkaStorageError(
            f"{self.topic}-{self.partition} is in the offline log dir {self.log_dir}"
        )

    def storage_failure(self, what: str, exc: OSError) -> KafkaStorageError:
        """Take the log dir offline after ``exc`` (raised while doing ``what``) and return
        the error to raise."""
        self.failures.fail(self.log_dir, f"{what} of {self.topic}-{self.partition}", exc)
        return KafkaStorageError(
            f"{self.topic}-{self.partition}: {what} failed ({exc}); "
            f"log dir {self.log_dir} is offline"
        )

    # -- opening --------------------------------------------------------------------------------

    def create(self, topic_id: uuid.UUID, leader_epoch: int = 0) -> None:
        """A new, empty partition led from offset 0 in ``leader_epoch``.

        The epoch is recorded here, so the first appends do not rewrite the checkpoint.
        """
        if self.offline:
            raise self.offline_error()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            write_partition_metadata(self.dir, topic_id)
            self.topic_id = topic_id
            self._new_segment(0)
            if not self.epoch_cache.assign(leader_epoch, 0):
                self.epoch_cache.save()
        except OSError as exc:
            raise self.storage_failure("create", exc) from exc

    def load(self, *, recovery_point: int, log_start_offset: int, clean: bool) -> RecoveryReport:
        """Open the segments; after an unclean shutdown validate everything past the
        recovery point and cut the log at the first invalid batch (see loader.py)."""
        now = self._now_ms()
        segments, report = load_segments(
            self.dir,
            lambda base: self.segment_obj(base, now),
            name=f"{self.topic}-{self.partition}",
            recovery_point=recovery_point,
            clean=clean,
            now_ms=now,
        )
        self._segments.reset(segments)
        if not segments:
            self._new_segment(max(log_start_offset, 0))
        self.log_start_offset = min(
            max(log_start_offset, self._segments[0].base_offset), self.log_end_offset
        )
        self.recovery_point = (
            min(recovery_point, self.log_end_offset) if clean else self.log_end_offset
        )
        self.topic_id = read_partition_metadata(self.dir)
        self.epoch_cache.load()
        # An epoch may start exactly at the log end offset (a leader elected with no
        # appends yet); only entries past the end are stale after a truncating recovery.
        self.epoch_cache.truncate_from_end(self.log_end_offset + 1)
        self.epoch_cache.truncate_from_start(self.log_start_offset)
        self._load_producer_state()
        if report.truncated:
            self.flush()
        self.recovery_report = report
        return report

    def segment_obj(self, base: int, now: int, suffix: str = "") -> LogSegment:
        return LogSegment(
            self.dir,
            base,
            index_interval=self.config.index_interval_bytes,
            index_max_bytes=self.config.segment_index_bytes,
            created_ms=now,
            suffix=suffix,
        )

    def _new_segment(self, base: int) -> LogSegment:
        seg = self.segment_obj(base, self._now_ms())
        seg.create()
        self._segments.add(seg)
        return seg

    def _load_producer_state(self) -> None:
        """Newest snapshot, then the batch headers after it replayed."""
        start = max(self.producer_state.load_snapshot(self.log_end_offset), self.log_start_offset)
        for seg, pos, h in self.batches(start):
            if h.base_offset >= start:
                marker = marker_epoch(seg.read_bytes(pos, h.size)) if h.is_control else None
                self.producer_state.update(h, marker)

    # -- offsets ------------------------------------------------------------------------------------

    @property
    def segments(self) -> list[LogSegment]:
        """A copy of the segment list, oldest first (taken under the lock)."""
        with self.lock:
            return self._segments.snapshot()

    @property
    def active(self) -> LogSegment:
        return self._segments.active

    @property
    def log_end_offset(self) -> int:
        return self.active.next_offset

    @property
    def high_watermark(self) -> int:
        return self.log_end_offset

    @property
    def last_stable_offset(self) -> int:
        first = self.producer_state.first_unstable_offset()
        return self.high_watermark if first is None else min(first, self.high_watermark)

    @property
    def latest_epoch(self) -> int:
        return self.epoch_cache.latest_epoch

    @property
    def epochs(self) -> list[tuple[int, int]]:
        """(leader epoch, start offset) entries of the leader epoch cache."""
        return list(self.epoch_cache.entries)

    def size_in_bytes(self) -> int:
        with self.lock:
            return self._segments.size_in_bytes()

    def update_config(self, config: LogConfig) -> None:
        with self.lock:
            self.config = config
            for seg in self._segments:
                seg.index_interval = config.index_interval_bytes

    # -- append -------------------------------------------------------------------------------------

    @_locked
    def append(
        self,
        data: bytearray | memoryview,
        *,
        leader_epoch: int,
        log_append_time_ms: int | None = None,
        origin: str = "client",
        assign_offsets: bool | None = None,
    ) -> AppendResult:
        """Append already-validated v2 batches (a writable buffer, rewritten in place).

        ``origin`` is "client" or "coordinator" (offsets assigned) or "replication" (batches
        keep their offsets). Raises KafkaError: OUT_OF_ORDER_SEQUENCE_NUMBER,
        INVALID_PRODUCER_EPOCH, CORRUPT_MESSAGE (no whole batch), KAFKA_STORAGE_ERROR."""
        if assign_offsets is None:
            assign_offsets = origin != "replication"
        buf = data if isinstance(data, (bytearray, memoryview)) else bytearray(data)
        batches = list(records.iter_batches(buf))
        if not batches:
            raise KafkaError(ErrorCode.CORRUPT_MESSAGE, "no complete record batch to append")
        return self._append(buf, batches, leader_epoch, assign_offsets, log_append_time_ms)

    @_locked
    def append_batch(self, batch: ValidatedBatch, leader_epoch: int) -> AppendResult:
        """The produce path's append(): one validated client batch, offsets assigned (its
        header is already parsed, so the buffer is not walked again)."""
        return self._append(
            batch.buffer, [(0, batch.header)], leader_epoch, True, batch.log_append_time_ms
        )

    def _append(
        self,
        buf: bytearray | memoryview,
        batches: list[tuple[int, records.BatchHeader]],
        leader_epoch: int,
        assign_offsets: bool,
        log_append_time_ms: int | None,
    ) -> AppendResult:
        """The one append path (under the lock). Offsets are assigned by rewriting each
        batch's baseOffset and partitionLeaderEpoch (with ``log_append_time_ms`` also
        maxTimestamp and the CRC); records are never parsed. Idempotent batches are checked
        against the producer state: a retry of one of the producer's last 5 batches returns
        the original offsets with ``duplicate=True`` and writes nothing."""
        producers = self.producer_state
        active = self._segments.active
        next_offset = first_offset = active.next_offset
        size = count = 0
        control = False
        for pos, h in batches:
            duplicate = producers.check(h) if h.producer_id >= 0 else None
            if duplicate is not None:
                return AppendResult(
                    duplicate.first_offset,
                    duplicate.last_offset,
                    duplicate.timestamp,  # as Kafka: the original batch's max timestamp
                    self.log_start_offset,
                    True,
                )
            if assign_offsets:
                records.set_offset_and_epoch(buf, pos, next_offset, leader_epoch)
                h.base_offset = next_offset
                if log_append_time_ms is not None:
                    records.set_log_append_time(buf, pos, log_append_time_ms)
                    h.max_timestamp = log_append_time_ms
            next_offset = h.base_offset + h.last_offset_delta + 1
            size += h.batch_length + records.LOG_OVERHEAD
            count += h.record_count
            control = control or h.is_control
        headers = [h for _, h in batches]
        if should_roll(active, size, headers[0], self.config, self._now_ms()):
            active = self.roll()
        self.epoch_cache.assign(leader_epoch, first_offset)
        active.append(memoryview(buf)[:size] if size != len(buf) else buf, headers)
        if control:
            for txn in producers.aborted_by(buf, batches):
                active.txn_index.append(txn)
        for pos, h in batches:
            if h.producer_id >= 0:
                producers.update(h, marker_epoch(buf, pos) if h.is_control else None)
        self._unflushed += count
        return AppendResult(
            first_offset,
            next_offset - 1,
            log_append_time_ms if log_append_time_ms is not None else -1,
            self.log_start_offset,
        )

    @_locked
    def roll(self) -> LogSegment:
        """Start a new active segment at the log end offset."""
        if self.active.size == 0:
            return self.active
        self.active.seal()
        seg = self._new_segment(self.log_end_offset)
        # The fsyncs of the snapshot wait for the housekeeping thread (sync_snapshot): a roll
        # happens inside a produce request, on the event loop.
        self.producer_state.take_snapshot(seg.base_offset, sync=False)
        return seg

    def sync_snapshot(self) -> None:
        """Make the producer snapshot of the last roll durable and drop the older ones (in a
        worker thread; Kafka too flushes that snapshot asynchronously). Raises
        KafkaStorageError."""
        if self.producer_state.unsynced is None:
            return
        with self._flush_lock:
            if self.offline:
                raise self.offline_error()
            try:
                self.producer_state.sync_snapshot(self.lock)
            except OSError as exc:
                raise self.storage_failure("producer snapshot fsync", exc) from exc

    @_locked
    def replace_segments(self, old: list[LogSegment], new: LogSegment) -> None:
        """Put ``new`` (a cleaned segment) in place of the consecutive segments ``old``;
        ValueError when they changed meanwhile."""
        self._segments.replace(old, new)

    def holds(self, segments: list[LogSegment]) -> bool:
        """Whether every one of ``segments`` is still in the log (not deleted or replaced)."""
        with self.lock:
            return self._segments.contains_all(segments)

    # -- read -----------------------------------------------------------------------------------------

    def check_offset(self, offset: int) -> None:
        if offset < self.log_start_offset or offset > self.log_end_offset:
            raise KafkaError(
                ErrorCode.OFFSET_OUT_OF_RANGE,
                f"Offset {offset} is out of range for {self.topic}-{self.partition}: "
                f"log start {self.log_start_offset}, log end {self.log_end_offset}",
            )

    @_locked
    def read(
        self, offset: int, max_bytes: int, *, max_offset: int | None = None, min_one: bool = True
    ) -> ReadResult:
        """Whole batches from the one holding ``offset``, within ``max_bytes`` (at least one
        batch when ``min_one``), below ``max_offset`` (default: the high watermark)."""
        self.check_offset(offset)
        upper = self.high_watermark if max_offset is None else max_offset
        regions, first = self._segments.read(offset, max_bytes, upper, min_one)
        return ReadResult(FileRecords(regions), first, self.high_watermark, self.log_start_offset)

    def batches(self, start: int = 0) -> Iterator[tuple[LogSegment, int, records.BatchHeader]]:
        """Every batch from offset ``start`` on (headers only), in the segments there were
        when the iteration began."""
        with self.lock:
            segments = self._segments.from_offset(start)
        return batches_from(segments, start)

    def read_batch_bytes(self, seg: LogSegment, position: int, h: records.BatchHeader) -> bytes:
        return seg.read_bytes(position, h.size)

    @_locked
    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after ``timestamp``."""
        return self._segments.offset_for_timestamp(timestamp, self.log_start_offset)

    @_locked
    def max_timestamp_entry(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record holding the log's largest timestamp
        (ListOffsets MAX_TIMESTAMP)."""
        return self._segments.max_timestamp_entry()

    # -- leader epochs ---------------------------------------------------------------------------------

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """(epoch, end offset) for OffsetForLeaderEpoch, with Kafka's rules (see
        LeaderEpochCache.end_offset_for); (-1, -1) when the epoch is unknown."""
        return self.epoch_cache.end_offset_for(epoch, self.log_end_offset)

    def epoch_for_offset(self, offset: int) -> int:
        return self.epoch_cache.epoch_for_offset(offset)

    @_locked
    def assign_leader_epoch(self, epoch: int) -> None:
        """This broker leads from the log end offset in ``epoch`` (Kafka's
        maybeAssignEpochStartOffset on becoming leader); older epochs are ignored."""
        self.epoch_cache.assign(epoch, self.log_end_offset)

    # -- producers / transactions -------------------------------------------------------------------------

    def active_producers(self) -> list[ActiveProducer]:
        return self.producer_state.active_producers()

    def aborted_transactions(self, start: int, end: int, upper: int) -> list[tuple[int, int]]:
        """(producer id, first offset) of aborted transactions overlapping [start, upper),
        from the segments' transaction indexes (``end`` is unused: kept for the caller)."""
        with self.lock:
            aborted = self._segments.aborted_transactions(start, upper)
        return [(t.producer_id, t.first_offset) for t in aborted]

    # -- retention and truncation ---------------------------------------------------------------------

    @_locked
    def delete_records_before(self, offset: int) -> None:
        """Advance the log start offset (DeleteRecords); whole segments below it go."""
        if offset > self.high_watermark:
            raise KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, f"{offset} is above the high watermark")
        if offset > self.log_start_offset:
            self.log_start_offset = offset
            self.epoch_cache.truncate_from_start(offset)
        self._delete_segments_below(self.log_start_offset)

    def _delete_segments_below(self, offset: int) -> None:
        while len(self._segments) > 1 and self._segments[1].base_offset <= offset:
            self._delete_oldest("log start offset")

    def _delete_oldest(self, reason: str) -> None:
        seg = self._segments.pop_oldest()
        log.info(
            "%s-%d: deleting segment %s (%s)", self.topic, self.partition, seg.log_path.name, reason
        )
        self._doomed.append(seg)
        if self._segments[0].base_offset > self.log_start_offset:
            self.log_start_offset = self._segments[0].base_offset
            self.epoch_cache.truncate_from_start(self.log_start_offset)

    def _delete_doomed(self) -> None:
        """Unlink detached segments (outside the lock: unlink may be slow). Their fds go to
        the closer, so FileRegions already handed out stay readable."""
        if not self._doomed:
            return
        with self.lock:
            doomed, self._doomed = self._doomed, []
        now = self._now_ms()
        for seg in doomed:
            seg.delete(self.closer, now)

    @_locked
    def apply_retention(self, now_ms: int) -> int:
        """Delete the segments retention.py's rules pick; returns how many."""
        stats = [SegmentStats(s.base_offset, s.size, s.largest_timestamp()) for s in self._segments]
        plan = plan_retention(
            stats, log_start_offset=self.log_start_offset, now_ms=now_ms, config=self.config
        )
        if plan.roll_active:
            self.roll()
        for reason in plan.reasons:
            self._delete_oldest(reason)
        return len(plan.reasons)

    @_locked
    def truncate_to(self, offset: int) -> None:
        """Remove everything at and after ``offset`` (a batch boundary)."""
        if offset >= self.log_end_offset:
            return
        while len(self._segments) > 1 and self.active.base_offset >= offset:
            seg = self._segments.pop_newest()
            seg.delete(self.closer, self._now_ms())
        self.active.truncate_to(offset)
        if self.active.base_offset > offset:
            self.active.truncate_to(self.active.base_offset)
        self.log_start_offset = min(self.log_start_offset, self.log_end_offset)
        self.recovery_point = min(self.recovery_point, self.log_end_offset)
        self.epoch_cache.truncate_from_end(self.log_end_offset)
        self.producer_state.truncate()
        self._load_producer_state()

    # -- flushing and closing -------------------------------------------------------------------------

    def flush_due(self, now_ms: int) -> bool:
        if self._unflushed == 0:
            return False
        return (
            self._unflushed >= self.config.flush_messages
            or now_ms - self._last_flush_ms >= self.config.flush_ms
        )

    def flush(self) -> None:
        """fsync every segment written since the last flush and advance the recovery point
        to the log end offset seen at the start. Safe to run in a worker thread while the
        event loop appends: the fsyncs run outside the lock (one flush at a time).

        Raises KafkaStorageError. A failed fsync takes the log dir offline and is never
        retried (the kernel may have dropped the pages it could not write, so a second
        fsync could succeed over lost data): the recovery point stays where the last
        successful flush put it, and the next start-up revalidates everything past it."""
        with self._flush_lock:
            with self.lock:
                if self.offline:
                    raise self.offline_error()
                end = self.log_end_offset
                dirty = [
                    seg
                    for seg in self._segments
                    if seg.next_offset > self.recovery_point or seg is self.active
                ]
                self._unflushed = 0
                self._last_flush_ms = self._now_ms()
            try:
                for seg in dirty:
                    seg.flush()
                self.producer_state.sync_snapshot(self.lock)
            except OSError as exc:
                raise self.storage_failure("fsync", exc) from exc
            with self.lock:
                # A truncation meanwhile may have moved the end below ``end``.
                self.recovery_point = min(max(self.recovery_point, end), self.log_end_offset)

    def close(self) -> None:
        """Snapshot the producer state at the log end offset and close the files (the index
        files are never preallocated, so there is nothing to trim). An offline log only
        closes its files: nothing is written to a failed dir."""
        with self.lock:
            if not self.offline:
                try:
                    self.producer_state.take_snapshot(self.log_end_offset)
                except OSError as exc:
                    self.storage_failure("producer snapshot", exc)
            for seg in self._segments:
                seg.close()

    def delete(self) -> None:
        """Remove the partition directory; open fds are closed after the closer's delay."""
        now = self._now_ms()
        with self.lock:
            for seg in self._segments:
                seg.delete(self.closer, now)
        shutil.rmtree(self.dir, ignore_errors=True)

    def statistics(self) -> dict[str, int]:
        return {
            "segments": len(self._segments),
            "size": self.size_in_bytes(),
            "log_start_offset": self.log_start_offset,
            "log_end_offset": self.log_end_offset,
            "recovery_point": self.recovery_point,
        }
