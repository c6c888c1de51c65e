"""A partition's log: a directory of segments, the log start offset and the end offsets.

Directory ``<topic>-<partition>/`` holds the segments, ``partition.metadata`` (the topic id),
``leader-epoch-checkpoint`` and producer snapshots. Offsets are assigned on append by
rewriting each batch's baseOffset; nothing below the batch header is touched. On a single
broker the high watermark is the log end offset; the last stable offset stops at the first
open transaction.
"""

from __future__ import annotations

import bisect
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
from kpy.protocol.primitives import FileRegion
from kpy.storage.config import LogConfig
from kpy.storage.files import DeferredCloser
from kpy.storage.leader_epoch import LeaderEpochCache
from kpy.storage.loader import RecoveryReport, load_segments
from kpy.storage.partition_metadata import read_partition_metadata, write_partition_metadata
from kpy.storage.producer_state import ActiveProducer, ProducerStateManager
from kpy.storage.results import AppendResult, FileRecords, ReadResult
from kpy.storage.segment import LogSegment
from kpy.storage.txn_index import AbortedTxn

if TYPE_CHECKING:
    from kpy.storage.validator import ValidatedBatch

# Re-exported: callers import these from here.
__all__ = ["AppendResult", "FileRecords", "Log", "LogConfig", "ReadResult"]

log = logging.getLogger("kpy.storage")

P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[Concatenate[Log, P], R]) -> Callable[Concatenate[Log, P], R]:
    """Run ``method`` holding the log's lock, then unlink the segments it detached."""

    @functools.wraps(method)
    def wrapper(self: Log, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            result = method(self, *args, **kwargs)
        if self._doomed:
            self._delete_doomed()
        return result

    return wrapper


class Log:
    """One partition's log.

    Thread safety: the broker appends and reads on its event loop thread while retention,
    flushes and the cleaner run in worker threads, so every method that changes or walks
    the segment list holds ``lock`` (an RLock) for the short in-memory part. Slow file work
    stays outside it: unlinking segments detached by retention and the fsyncs of flush().
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
    ) -> None:
        self.dir = directory
        # Where fds of deleted segments wait before being closed (shared by the manager).
        self.closer = closer if closer is not None else DeferredCloser()
        self.log_dir = str(directory.parent)
        self.topic = topic
        self.partition = partition
        self.config = config
        self.clock = clock
        self.segments: list[LogSegment] = []
        self.lock = threading.RLock()
        self._doomed: list[LogSegment] = []  # detached by retention, files not yet unlinked
        self._bases: list[int] = []
        self.log_start_offset = 0
        self.recovery_point = 0
        self.producer_state = ProducerStateManager(directory)
        self.epoch_cache = LeaderEpochCache(directory)
        self._unflushed = 0
        self._last_flush_ms = self._now_ms()
        self.offline = False
        self.recovery_report = RecoveryReport()
        self.topic_id: uuid.UUID | None = None  # from partition.metadata

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- opening --------------------------------------------------------------------------------

    def create(self, topic_id: uuid.UUID, leader_epoch: int = 0) -> None:
        """A new, empty partition led from offset 0 in ``leader_epoch``.

        The epoch is recorded here, so the first appends do not rewrite the checkpoint.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        write_partition_metadata(self.dir, topic_id)
        self.topic_id = topic_id
        self._new_segment(0)
        if not self.epoch_cache.assign(leader_epoch, 0):
            self.epoch_cache.save()

    def load(self, *, recovery_point: int, log_start_offset: int, clean: bool) -> RecoveryReport:
        """Open the segments; after an unclean shutdown validate everything past the
        recovery point and cut the log at the first invalid batch (see loader.py)."""
        self.segments, report = load_segments(
            self, recovery_point=recovery_point, clean=clean, now_ms=self._now_ms()
        )
        self._bases = [s.base_offset for s in self.segments]
        if not self.segments:
            self._new_segment(max(log_start_offset, 0))
        self.log_start_offset = min(
            max(log_start_offset, self.segments[0].base_offset), self.log_end_offset
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

    def segment_obj(self, base: int, now: int) -> LogSegment:
        return LogSegment(
            self.dir,
            base,
            index_interval=self.config.index_interval_bytes,
            index_max_bytes=self.config.segment_index_bytes,
            created_ms=now,
        )

    def _new_segment(self, base: int) -> LogSegment:
        seg = self.segment_obj(base, self._now_ms())
        seg.create()
        self.segments.append(seg)
        self._bases.append(base)
        return seg

    def _load_producer_state(self) -> None:
        """Newest snapshot, then the batch headers after it replayed."""
        start = max(self.producer_state.load_snapshot(self.log_end_offset), self.log_start_offset)
        for seg, pos, h in self.batches(start):
            if h.base_offset >= start:
                marker = self._marker_epoch(seg.read_bytes(pos, h.size)) if h.is_control else None
                self.producer_state.update(h, marker)

    # -- offsets ------------------------------------------------------------------------------------

    @property
    def active(self) -> LogSegment:
        return self.segments[-1]

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
        return sum(s.size for s in self.segments)

    def update_config(self, config: LogConfig) -> None:
        self.config = config
        for seg in self.segments:
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

        Offsets are assigned by rewriting each batch's baseOffset (and partitionLeaderEpoch;
        with ``log_append_time_ms`` also maxTimestamp and the CRC); records are never parsed.
        (The produce path appends its one validated batch through append_batch.)
        ``origin`` is "client" or "coordinator"
        (offsets assigned) or "replication" (batches keep their offsets). Idempotent batches
        are checked against the producer state: a retry of one of the producer's last 5
        batches returns the original offsets with ``duplicate=True``. Raises KafkaError:
        OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, CORRUPT_MESSAGE (no whole
        batch), KAFKA_STORAGE_ERROR."""
        if assign_offsets is None:
            assign_offsets = origin != "replication"
        self._check_online()
        buf = data if isinstance(data, (bytearray, memoryview)) else bytearray(data)
        batches = list(records.iter_batches(buf))
        if not batches:
            raise KafkaError(ErrorCode.CORRUPT_MESSAGE, "no complete record batch to append")
        producers = self.producer_state
        next_offset = first_offset = self.log_end_offset
        size = count = 0
        control = False
        for pos, h in batches:
            duplicate = producers.check(h)
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
        self._write(buf, size, headers, leader_epoch, first_offset)
        if control:
            for txn in self._aborted_by(buf, batches):
                self.active.txn_index.append(txn)
        for pos, h in batches:
            producers.update(h, self._marker_epoch(buf, pos) if h.is_control else None)
        self._unflushed += count
        return AppendResult(
            first_offset,
            next_offset - 1,
            log_append_time_ms if log_append_time_ms is not None else -1,
            self.log_start_offset,
        )

    @_locked
    def append_batch(self, batch: ValidatedBatch, leader_epoch: int) -> AppendResult:
        """The produce path's append(): one validated client batch (never a control batch),
        offsets assigned, with the same checks and results."""
        self._check_online()
        h = batch.header
        buf = batch.buffer
        producers = self.producer_state
        if h.producer_id >= 0:
            duplicate = producers.check(h)
            if duplicate is not None:
                return AppendResult(
                    duplicate.first_offset,
                    duplicate.last_offset,
                    duplicate.timestamp,  # as Kafka: the original batch's max timestamp
                    self.log_start_offset,
                    True,
                )
        first_offset = self.active.next_offset
        records.set_offset_and_epoch(buf, 0, first_offset, leader_epoch)
        h.base_offset = first_offset
        append_time = batch.log_append_time_ms
        if append_time is not None:
            records.set_log_append_time(buf, 0, append_time)
            h.max_timestamp = append_time
        self._write(buf, h.batch_length + records.LOG_OVERHEAD, [h], leader_epoch, first_offset)
        if h.producer_id >= 0:
            producers.update(h)
        self._unflushed += h.record_count
        return AppendResult(
            first_offset,
            first_offset + h.last_offset_delta,
            append_time if append_time is not None else -1,
            self.log_start_offset,
        )

    def _check_online(self) -> None:
        if self.offline:
            raise KafkaError(
                ErrorCode.KAFKA_STORAGE_ERROR, f"{self.topic}-{self.partition} is offline"
            )

    def _write(
        self,
        buf: bytearray | memoryview,
        size: int,
        headers: list[records.BatchHeader],
        leader_epoch: int,
        first_offset: int,
    ) -> None:
        """Write the first ``size`` bytes of ``buf`` (whole batches, offsets assigned) at
        the log end, rolling first when the active segment is due."""
        try:
            if self._should_roll(size, headers[0]):
                self.roll()
            self.epoch_cache.assign(leader_epoch, first_offset)
            self.active.append(memoryview(buf)[:size] if size != len(buf) else buf, headers)
        except OSError as exc:
            self.offline_error(exc)

    def _aborted_by(
        self, buf: bytearray | memoryview, batches: list[tuple[int, records.BatchHeader]]
    ) -> list[AbortedTxn]:
        """Index entries for the ABORT markers among ``batches`` (read before the producer
        state forgets where each aborted transaction started)."""
        result: list[AbortedTxn] = []
        for pos, h in batches:
            if not h.is_control or records.control_type(buf, pos) != records.CONTROL_ABORT:
                continue
            entry = self.producer_state.producers.get(h.producer_id)
            first = entry.current_txn_first_offset if entry is not None else -1
            if first < 0:
                continue  # nothing of this transaction reached the partition
            others = [
                e.current_txn_first_offset
                for pid, e in self.producer_state.producers.items()
                if pid != h.producer_id and e.current_txn_first_offset >= 0
            ]
            lso = min(others, default=h.base_offset + 1)
            result.append(AbortedTxn(h.producer_id, first, h.base_offset, lso))
        return result

    @staticmethod
    def _marker_epoch(buf: records.Buffer, pos: int = 0) -> int | None:
        """The coordinator epoch of the transaction marker (a control batch) at ``pos``;
        None for another control record or an unreadable one."""
        try:
            marker = records.end_txn_marker(buf, pos)
        except records.InvalidBatch:
            return None
        return marker.coordinator_epoch if marker is not None else None

    def offline_error(self, exc: OSError) -> None:
        raise KafkaError(
            ErrorCode.KAFKA_STORAGE_ERROR, f"{self.topic}-{self.partition}: {exc}"
        ) from exc

    def _should_roll(self, size: int, first: records.BatchHeader) -> bool:
        seg = self.active
        if seg.size == 0:
            return False
        if seg.size + size > self.config.segment_bytes:
            return True
        if seg.index_full:
            return True
        # Index entries hold 4-byte offsets relative to the segment's base offset.
        if seg.next_offset + first.last_offset_delta - seg.base_offset > 2**31 - 1:
            return True
        return self._now_ms() - seg.created_ms > self.config.segment_ms

    @_locked
    def roll(self) -> LogSegment:
        """Start a new active segment at the log end offset."""
        if self.active.size == 0:
            return self.active
        seg = self._new_segment(self.log_end_offset)
        # The fsyncs of the snapshot wait for the housekeeping thread (sync_snapshot): a roll
        # happens inside a produce request, on the event loop.
        self.producer_state.take_snapshot(seg.base_offset, sync=False)
        return seg

    def sync_snapshot(self) -> None:
        """Make the producer snapshot of the last roll durable and drop the older ones (in a
        worker thread; Kafka too flushes that snapshot asynchronously)."""
        state = self.producer_state
        if state.unsynced is None:
            return
        with self.lock:
            offset = state.unsynced
        if offset is None:
            return
        synced = state.fsync_snapshot(offset)
        with self.lock:
            if state.unsynced == offset:
                state.unsynced = None
            # Still there, so no truncation came between: the older ones are not needed.
            if synced and offset in state.snapshots():
                state.delete_snapshots_before(offset)

    @_locked
    def replace_segments(self, old: list[LogSegment], new: LogSegment) -> None:
        """Put ``new`` (a cleaned segment) in place of the consecutive segments ``old``."""
        with self.lock:
            i = next((k for k, s in enumerate(self.segments) if s is old[0]), -1)
            if i < 0 or self.segments[i : i + len(old)] != old:
                raise ValueError("segments changed while being cleaned")
            segments = self.segments[:i] + [new] + self.segments[i + len(old) :]
            self.segments = segments
            self._bases = [s.base_offset for s in segments]

    # -- read -----------------------------------------------------------------------------------------

    def _segment_index(self, offset: int) -> int:
        return max(bisect.bisect_right(self._bases, offset) - 1, 0)

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
        regions: list[FileRegion] = []
        first = offset
        if offset < upper:
            i = self._segment_index(offset)
            while i < len(self.segments):
                seg = self.segments[i]
                found = seg.find_batch(offset)
                if found is not None:
                    position, h = found
                    first = max(h.base_offset, offset) if not regions else first
                    end = seg.read_end(position, max_bytes, upper, min_one)
                    if end > position:
                        regions.append(FileRegion(seg.fd, position, end - position))
                    break
                i += 1
        return ReadResult(FileRecords(regions), first, self.high_watermark, self.log_start_offset)

    def batches(self, start: int = 0) -> Iterator[tuple[LogSegment, int, records.BatchHeader]]:
        """Every batch from offset ``start`` on (headers only)."""
        for seg in self.segments[self._segment_index(start) :]:
            found = seg.find_batch(start) if seg.base_offset <= start else None
            pos = found[0] if found else 0
            for p, h in seg.scan(pos):
                if h.last_offset >= start:
                    yield seg, p, h

    def read_batch_bytes(self, seg: LogSegment, position: int, h: records.BatchHeader) -> bytes:
        return seg.read_bytes(position, h.size)

    @_locked
    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after ``timestamp``."""
        for seg in self.segments:
            if seg.max_timestamp < timestamp:
                continue
            found = seg.find_timestamp(timestamp)
            if found is None:
                continue
            position, h = found
            for off, ts in _record_timestamps(seg.read_bytes(position, h.size)):
                if ts >= timestamp and off >= self.log_start_offset:
                    return off, ts
        return None

    @_locked
    def max_timestamp_entry(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record holding the log's largest timestamp
        (ListOffsets MAX_TIMESTAMP), found as Kafka finds it: in the first segment with the
        largest max timestamp, the first batch whose maxTimestamp equals it, then the first
        record there with that timestamp. A log whose records carry no timestamps answers
        its first record with -1; a batch with no record at its max answers nothing."""
        best = max(self.segments, key=lambda seg: seg.max_timestamp)  # first of equals
        found = best.find_timestamp(best.max_timestamp)
        if found is None:
            return None
        position, h = found
        if h.max_timestamp != best.max_timestamp:
            return None
        for off, ts in _record_timestamps(best.read_bytes(position, h.size)):
            if ts == best.max_timestamp:
                return off, ts
        # Only a header kpy trusted without reading its records (see validator.py) can
        # claim more than its records hold; answer the batch's last offset then.
        return (h.last_offset, h.max_timestamp) if h.max_timestamp >= 0 else None

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
        result: list[tuple[int, int]] = []
        for seg in self.segments:
            if seg.next_offset <= start:
                continue
            result.extend(
                (t.producer_id, t.first_offset) for t in seg.txn_index.collect(start, upper)
            )
        return result

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
        while len(self.segments) > 1 and self.segments[1].base_offset <= offset:
            self._delete_oldest("log start offset")

    def _delete_oldest(self, reason: str) -> None:
        seg = self.segments.pop(0)
        self._bases.pop(0)
        log.info(
            "%s-%d: deleting segment %s (%s)", self.topic, self.partition, seg.log_path.name, reason
        )
        self._doomed.append(seg)
        if self.segments[0].base_offset > self.log_start_offset:
            self.log_start_offset = self.segments[0].base_offset
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
        """Delete old segments by retention.ms and retention.bytes; returns how many."""
        if "delete" not in self.config.cleanup_policy:
            return 0
        deleted = len(self.segments)
        # Segments wholly below the log start offset (DeleteRecords, or a segment rolled
        # after the start offset had already passed its base) go first, as in Kafka.
        self._delete_segments_below(self.log_start_offset)
        deleted -= len(self.segments)
        if self.config.retention_ms >= 0:
            while len(self.segments) > 1:
                if now_ms - self.segments[0].largest_timestamp() <= self.config.retention_ms:
                    break
                self._delete_oldest(f"retention.ms={self.config.retention_ms}")
                deleted += 1
            active = self.active
            if active.size and now_ms - active.largest_timestamp() > self.config.retention_ms:
                # Kafka rolls an expired active segment so that it can be deleted too.
                self.roll()
                self._delete_oldest(f"retention.ms={self.config.retention_ms}")
                deleted += 1
        if self.config.retention_bytes >= 0:
            total = self.size_in_bytes()
            while (
                len(self.segments) > 1
                and total - self.segments[0].size >= self.config.retention_bytes
            ):
                total -= self.segments[0].size
                self._delete_oldest(f"retention.bytes={self.config.retention_bytes}")
                deleted += 1
        return deleted

    @_locked
    def truncate_to(self, offset: int) -> None:
        """Remove everything at and after ``offset`` (a batch boundary)."""
        if offset >= self.log_end_offset:
            return
        while len(self.segments) > 1 and self.active.base_offset >= offset:
            seg = self.segments.pop()
            self._bases.pop()
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
        event loop appends: the fsyncs run outside the lock."""
        with self.lock:
            end = self.log_end_offset
            dirty = [
                seg
                for seg in self.segments
                if seg.next_offset > self.recovery_point or seg is self.active
            ]
            self._unflushed = 0
            self._last_flush_ms = self._now_ms()
        for seg in dirty:
            seg.flush()
        self.sync_snapshot()
        with self.lock:
            # A truncation meanwhile may have moved the end below ``end``.
            self.recovery_point = min(max(self.recovery_point, end), self.log_end_offset)

    def close(self) -> None:
        """Snapshot the producer state at the log end offset and close the files (the index
        files are never preallocated, so there is nothing to trim)."""
        self.producer_state.take_snapshot(self.log_end_offset)
        for seg in self.segments:
            seg.close()

    def delete(self) -> None:
        """Remove the partition directory; open fds are closed after the closer's delay."""
        now = self._now_ms()
        for seg in self.segments:
            seg.delete(self.closer, now)
        shutil.rmtree(self.dir, ignore_errors=True)

    def statistics(self) -> dict[str, int]:
        return {
            "segments": len(self.segments),
            "size": self.size_in_bytes(),
            "log_start_offset": self.log_start_offset,
            "log_end_offset": self.log_end_offset,
            "recovery_point": self.recovery_point,
        }


def _record_timestamps(batch: bytes) -> list[tuple[int, int]]:
    """(offset, timestamp) of each record in a batch; LogAppendTime batches use maxTimestamp."""
    h = records.read_header(batch)
    if h.is_log_append_time:
        return [(h.base_offset + i, h.max_timestamp) for i in range(h.last_offset_delta + 1)]
    decode = getattr(records, "decode_records", None)
    if decode is None:
        return [(h.base_offset, h.max_timestamp)]
    return [
        (h.base_offset + r.offset_delta, h.base_timestamp + r.timestamp_delta)
        for r in decode(batch)
    ]
