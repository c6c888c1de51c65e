"""Per-partition producer state for idempotence and transactions.

For each producer id: its epoch, the last five batches it wrote (first and last sequence,
first and last offset), the time of its last write, and the first offset of its open
transaction. Appends of idempotent batches are checked against it like Kafka does:
a batch equal to one of the last five is a duplicate (the client retried), a sequence gap
is OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch is INVALID_PRODUCER_EPOCH.

Snapshots ``<offset, 20 digits>.snapshot`` hold the state as of that offset, in Kafka's
producer snapshot format (version 1), big-endian::

    int16 version (1) | uint32 crc32c of everything after it | int32 entry count
    entries: int64 producer id | int16 epoch | int32 last sequence | int64 last offset
             | int32 offset delta (last seq - first seq of the last batch)
             | int64 timestamp | int32 coordinator epoch | int64 current txn first offset

Like Kafka, a snapshot keeps only the last batch of each producer, so after a restart a
retry of that batch is still recognised as a duplicate but one of the four before it is not.
Snapshots are written atomically (temp, fsync, rename) at each roll and at close; on load the
batches after the newest usable snapshot are replayed from their headers. A snapshot that is
unreadable or fails its CRC is deleted and the next older one is tried (logged).
"""

from __future__ import annotations

import logging
import os
import struct
from collections import deque
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.records import NO_SEQUENCE, BatchHeader, crc32c
from kpy.storage.files import atomic_write, fsync_file
from kpy.storage.txn_index import AbortedTxn

log = logging.getLogger("kpy.storage")

BATCHES_KEPT = 5
INT32_MAX = 2**31 - 1
SNAPSHOT_VERSION = 1
_SNAPSHOT_HEAD = struct.Struct(">hI")  # version, crc
_COUNT = struct.Struct(">i")
_SNAPSHOT_ENTRY = struct.Struct(">qhiqiqiq")  # 46 bytes


class CorruptSnapshot(ValueError):
    pass


def encode_snapshot(producers: list[ProducerEntry]) -> bytes:
    """The bytes of a snapshot file holding ``producers`` (format in the module docstring)."""
    body = bytearray(_COUNT.pack(len(producers)))
    for e in producers:
        last = e.batches[-1] if e.batches else None
        body += _SNAPSHOT_ENTRY.pack(
            e.producer_id,
            e.producer_epoch,
            last.last_seq if last else -1,
            last.last_offset if last else -1,
            last.last_seq - last.first_seq if last else 0,
            e.last_timestamp,
            e.coordinator_epoch,
            e.current_txn_first_offset,
        )
    return _SNAPSHOT_HEAD.pack(SNAPSHOT_VERSION, crc32c(body)) + body


def decode_snapshot(data: bytes) -> list[ProducerEntry]:
    """Parse a snapshot file; CorruptSnapshot if its version, size or CRC is wrong."""
    if len(data) < _SNAPSHOT_HEAD.size + _COUNT.size:
        raise CorruptSnapshot(f"{len(data)} bytes is too short")
    version, crc = _SNAPSHOT_HEAD.unpack_from(data)
    if version != SNAPSHOT_VERSION:
        raise CorruptSnapshot(f"unknown version {version}")
    body = memoryview(data)[_SNAPSHOT_HEAD.size :]
    if crc32c(body) != crc:
        raise CorruptSnapshot("CRC mismatch")
    (count,) = _COUNT.unpack_from(body)
    if count < 0 or len(body) != _COUNT.size + count * _SNAPSHOT_ENTRY.size:
        raise CorruptSnapshot(f"{count} entries do not fit {len(body)} bytes")
    result = []
    for pid, epoch, last_seq, last_off, delta, ts, coord, txn in _SNAPSHOT_ENTRY.iter_unpack(
        body[_COUNT.size :]
    ):
        e = ProducerEntry(
            pid, epoch, last_timestamp=ts, coordinator_epoch=coord, current_txn_first_offset=txn
        )
        if last_seq >= 0:
            e.batches.append(BatchMeta(last_seq - delta, last_seq, last_off - delta, last_off, ts))
        result.append(e)
    return result


@dataclass(slots=True)
class BatchMeta:
    first_seq: int
    last_seq: int
    first_offset: int
    last_offset: int
    timestamp: int


@dataclass(slots=True)
class ProducerEntry:
    producer_id: int
    producer_epoch: int
    batches: deque[BatchMeta] = field(default_factory=lambda: deque(maxlen=BATCHES_KEPT))
    last_timestamp: int = -1
    coordinator_epoch: int = -1
    current_txn_first_offset: int = -1

    @property
    def last_sequence(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1

    @property
    def last_offset(self) -> int:
        return self.batches[-1].last_offset if self.batches else -1


@dataclass(slots=True)
class ActiveProducer:
    producer_id: int
    producer_epoch: int
    last_sequence: int
    last_timestamp: int
    coordinator_epoch: int
    current_txn_start_offset: int


class ProducerStateManager:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.producers: dict[int, ProducerEntry] = {}
        self.snapshot_offset = 0
        # The snapshot a roll wrote without waiting on the disk (see take_snapshot).
        self.unsynced: int | None = None

    def check(self, h: BatchHeader) -> BatchMeta | None:
        """Validate an idempotent batch before append; returns the original batch for a
        duplicate, None for a new batch; raises for fencing and sequence errors."""
        if h.producer_id < 0 or h.base_sequence == NO_SEQUENCE:
            return None
        entry = self.producers.get(h.producer_id)
        if entry is None:
            return None
        if h.producer_epoch < entry.producer_epoch:
            raise KafkaError(
                ErrorCode.INVALID_PRODUCER_EPOCH,
                f"Epoch {h.producer_epoch} of producer {h.producer_id} is older than "
                f"the current epoch {entry.producer_epoch}",
            )
        if h.producer_epoch > entry.producer_epoch:
            if h.base_sequence != 0 and not h.is_transactional:
                raise KafkaError(
                    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"New epoch {h.producer_epoch} of producer {h.producer_id} must start at "
                    f"sequence 0, not {h.base_sequence}",
                )
            return None
        for meta in entry.batches:
            if meta.first_seq == h.base_sequence and meta.last_seq == h.last_sequence:
                return meta
        last = entry.last_sequence
        expected = 0 if last == INT32_MAX else last + 1
        if entry.batches and h.base_sequence != expected:
            raise KafkaError(
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                f"Out of order sequence number for producer {h.producer_id}: "
                f"{h.base_sequence} (incoming seq. number), {last} (current end sequence number)",
            )
        return None

    def update(self, h: BatchHeader, coordinator_epoch: int | None = None) -> None:
        """Record an appended batch (offsets assigned); for a transaction marker
        ``coordinator_epoch`` is the one the marker carries, which Kafka lists from then on."""
        if h.producer_id < 0:
            return
        entry = self.producers.get(h.producer_id)
        if entry is None or h.producer_epoch > entry.producer_epoch:
            old = entry
            entry = ProducerEntry(h.producer_id, h.producer_epoch)
            if old is not None:
                entry.current_txn_first_offset = old.current_txn_first_offset
                entry.coordinator_epoch = old.coordinator_epoch
            self.producers[h.producer_id] = entry
        if h.is_control:
            entry.current_txn_first_offset = -1
            if coordinator_epoch is not None:
                entry.coordinator_epoch = coordinator_epoch
        else:
            if h.base_sequence != NO_SEQUENCE:
                entry.batches.append(
                    BatchMeta(
                        h.base_sequence,
                        h.last_sequence,
                        h.base_offset,
                        h.last_offset,
                        h.max_timestamp,
                    )
                )
            if h.is_transactional and entry.current_txn_first_offset < 0:
                entry.current_txn_first_offset = h.base_offset
        entry.last_timestamp = max(entry.last_timestamp, h.max_timestamp)

    def aborted_by(
        self, buf: records.Buffer, batches: list[tuple[int, BatchHeader]]
    ) -> list[AbortedTxn]:
        """Transaction index entries for the ABORT markers among ``batches`` (asked before
        ``update`` forgets where each aborted transaction started)."""
        result: list[AbortedTxn] = []
        for pos, h in batches:
            if not h.is_control or records.control_type(buf, pos) != records.CONTROL_ABORT:
                continue
            entry = self.producers.get(h.producer_id)
            first = entry.current_txn_first_offset if entry is not None else -1
            if first < 0:
                continue  # nothing of this transaction reached the partition
            others = [
                e.current_txn_first_offset
                for pid, e in self.producers.items()
                if pid != h.producer_id and e.current_txn_first_offset >= 0
            ]
            lso = min(others, default=h.base_offset + 1)
            result.append(AbortedTxn(h.producer_id, first, h.base_offset, lso))
        return result

    def first_unstable_offset(self) -> int | None:
        offsets = [
            e.current_txn_first_offset
            for e in self.producers.values()
            if e.current_txn_first_offset >= 0
        ]
        return min(offsets) if offsets else None

    def active_producers(self) -> list[ActiveProducer]:
        return [
            ActiveProducer(
                e.producer_id,
                e.producer_epoch,
                e.last_sequence,
                e.last_timestamp,
                e.coordinator_epoch,
                e.current_txn_first_offset,
            )
            for e in self.producers.values()
        ]

    def expire(self, now_ms: int, max_age_ms: int) -> None:
        for pid in [
            pid
            for pid, e in self.producers.items()
            if e.current_txn_first_offset < 0
            and e.last_timestamp >= 0
            and now_ms - e.last_timestamp > max_age_ms
        ]:
            del self.producers[pid]

    # -- snapshots ---------------------------------------------------------------------------

    def snapshot_path(self, offset: int) -> Path:
        return self.dir / f"{offset:020d}.snapshot"

    def take_snapshot(self, offset: int, *, sync: bool = True) -> None:
        """Write the state as of ``offset``. With ``sync`` the file is fsynced and the older
        snapshots deleted at once; without (a roll, on the event loop) both are left to
        ``Log.sync_snapshot``, which a worker thread runs. Until then the older snapshots stay:
        a power failure that loses the new file falls back to them."""
        atomic_write(
            self.snapshot_path(offset), encode_snapshot(list(self.producers.values())), sync=sync
        )
        self.snapshot_offset = offset
        if sync:
            self.unsynced = None
            self.delete_snapshots_before(offset)
        else:
            self.unsynced = offset

    def fsync_snapshot(self, offset: int) -> bool:
        """fsync the snapshot at ``offset`` (no lock needed: snapshot files are only ever
        replaced whole); False if a truncation deleted it meanwhile."""
        try:
            fsync_file(self.snapshot_path(offset))
        except FileNotFoundError:
            return False
        return True

    def sync_snapshot(self, lock: AbstractContextManager[Any]) -> None:
        """fsync the snapshot a roll wrote without waiting (``unsynced``), then drop the
        older ones; ``lock`` (the log's) is held for the in-memory part only."""
        if self.unsynced is None:
            return
        with lock:
            offset = self.unsynced
        if offset is None:
            return
        synced = self.fsync_snapshot(offset)
        with lock:
            if self.unsynced == offset:
                self.unsynced = None
            # Still there, so no truncation came between: the older ones are not needed.
            if synced and offset in self.snapshots():
                self.delete_snapshots_before(offset)

    def delete_snapshots_before(self, offset: int) -> None:
        for old in self.snapshots():
            if old < offset:
                try:
                    os.unlink(self.snapshot_path(old))
                except FileNotFoundError:
                    pass

    def snapshots(self) -> list[int]:
        return sorted(
            int(n[:-9])
            for n in os.listdir(self.dir)
            if n.endswith(".snapshot") and n[:-9].isdigit()
        )

    def load_snapshot(self, max_offset: int) -> int:
        """Load the newest usable snapshot at or below ``max_offset``; returns its offset."""
        self.producers = {}
        self.unsynced = None
        for offset in reversed(self.snapshots()):
            if offset > max_offset:
                os.unlink(self.snapshot_path(offset))
                continue
            try:
                entries = decode_snapshot(self.snapshot_path(offset).read_bytes())
            except (OSError, CorruptSnapshot) as exc:
                log.warning(
                    "%s: discarding producer snapshot (%s)", self.snapshot_path(offset), exc
                )
                os.unlink(self.snapshot_path(offset))
                continue
            self.producers = {e.producer_id: e for e in entries}
            self.snapshot_offset = offset
            return offset
        self.snapshot_offset = 0
        return 0

    def truncate(self) -> None:
        """Forget everything (after truncation the state is rebuilt by replay)."""
        self.producers = {}
        self.unsynced = None
        for offset in self.snapshots():
            os.unlink(self.snapshot_path(offset))
        self.snapshot_offset = 0


def marker_epoch(buf: records.Buffer, pos: int = 0) -> int | None:
    """The coordinator epoch of the transaction marker (a control batch) at ``pos``; None
    for another control record or an unreadable one."""
    try:
        marker = records.end_txn_marker(buf, pos)
    except records.InvalidBatch:
        return None
    return marker.coordinator_epoch if marker is not None else None
