"""One log segment: ``<base offset>.log`` plus its ``.index`` and ``.timeindex``.

The ``.log`` file is a plain concatenation of v2 record batches whose offsets start at the
segment's base offset (20 digits, zero padded, in the file name). Invariants: batches are
whole and in offset order; index entries map a batch's last offset to its start, as Kafka's
do; every batch is below ``next_offset``. Appends write the batch bytes as they are; reads
hand out file regions.

Timestamps: ``max_timestamp`` is the largest batch maxTimestamp seen (-1 while no batch has
one, e.g. when every record was written without a timestamp); the time index gets entries
only from such real timestamps. Retention judges a segment by ``largest_timestamp()``: the max
timestamp, or the ``.log`` file's last-modified time when there is none, as Kafka does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

from kpy.protocol.records import BATCH_OVERHEAD, BatchHeader, decode_records, read_header
from kpy.storage.files import DeferredCloser
from kpy.storage.index import IndexCorrupt, OffsetIndex, TimeIndex
from kpy.storage.txn_index import TransactionIndex

log = logging.getLogger("kpy.storage")


def segment_name(base_offset: int) -> str:
    return f"{base_offset:020d}"


class LogSegment:
    def __init__(
        self,
        directory: Path,
        base_offset: int,
        *,
        index_interval: int,
        index_max_bytes: int,
        created_ms: int,
        suffix: str = "",
    ) -> None:
        """Open (creating it if need be) ``<base>.log<suffix>``; a suffix (the cleaner's
        ``.cleaned``) applies to every file of the segment, see ``rename_files``."""
        self.dir = directory
        self.base_offset = base_offset
        name = segment_name(base_offset)
        self.log_path = directory / f"{name}.log{suffix}"
        self.index = OffsetIndex(directory / f"{name}.index{suffix}", base_offset, index_max_bytes)
        self.time_index = TimeIndex(
            directory / f"{name}.timeindex{suffix}", base_offset, index_max_bytes
        )
        self.txn_index = TransactionIndex(directory / f"{name}.txnindex{suffix}")
        self.index_interval = index_interval
        self.created_ms = created_ms
        self.fd = os.open(self.log_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = 0
        self.next_offset = base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1
        self._bytes_since_index = 0
        self.first_batch_timestamp = -1

    # -- opening and recovery ----------------------------------------------------------------

    def create(self) -> None:
        self.index.reset()
        self.time_index.reset()

    def open_existing(self) -> None:
        """Take the size of an existing ``.log`` file and load its transaction index."""
        self.size = os.fstat(self.fd).st_size
        try:
            self.txn_index.load()
        except IndexCorrupt as exc:
            # Derived data owned by the transactions work, which rebuilds it from the log.
            log.warning("%s: discarding corrupt transaction index (%s)", self.log_path, exc)
            self.txn_index.reset()

    def load_indexes(self) -> str | None:
        """Load the offset and time indexes and read the batches past the last index entry
        (setting the end offset and max timestamp). Returns why the indexes cannot be used
        (a file missing or failing its sanity check: rebuild them from the log), else None."""
        missing = [p.name for p in (self.index.path, self.time_index.path) if not p.exists()]
        if missing:
            return f"missing index file(s) {missing}"
        try:
            self.index.load(self.size)
            self.time_index.load(2**63 - 1)
        except IndexCorrupt as exc:
            return f"corrupt index ({exc})"
        _, pos = self.index.lookup(2**63 - 1)
        self.max_timestamp = self.time_index.last_timestamp
        if self.time_index.offsets:
            self.offset_of_max_timestamp = self.time_index.offsets[-1]
        for _, h in self.scan(pos):
            self.note_batch(h, index=False)
        self.index.open()
        self.time_index.open()
        return None

    def reset_indexes(self) -> None:
        """Empty both indexes and the tail state, before a rebuild from the log."""
        self.index.reset()
        self.time_index.reset()
        self.next_offset = self.base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1
        self._bytes_since_index = 0
        self.first_batch_timestamp = -1

    def note_batch(self, h: BatchHeader, *, index: bool, position: int = 0) -> None:
        # Kafka's LogSegment.append, step for step: the max timestamp first, then entries once
        # more than index.interval.bytes were written since the last ones; the offset entry
        # is the batch's last offset at its position (kafka-dump-log checks exactly that).
        if self.first_batch_timestamp < 0:
            self.first_batch_timestamp = h.max_timestamp
        if h.max_timestamp > self.max_timestamp:
            self.max_timestamp = h.max_timestamp
            self.offset_of_max_timestamp = h.last_offset
        if index and self._bytes_since_index > self.index_interval:
            self.index.append(h.last_offset, position)
            self._note_max_timestamp()
            self._bytes_since_index = 0
        if index:
            self._bytes_since_index += h.size
        self.next_offset = h.next_offset

    def _note_max_timestamp(self) -> None:
        if self.offset_of_max_timestamp >= 0:
            self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)

    def seal(self) -> None:
        """The segment stops being the active one (a roll): like Kafka, its time index ends
        with its max timestamp."""
        self._note_max_timestamp()

    # -- append and read ---------------------------------------------------------------------

    def append(self, data: bytes | bytearray | memoryview, headers: list[BatchHeader]) -> None:
        """Write whole batches (offsets already assigned) at the end of the segment."""
        position = self.size
        view = memoryview(data)
        try:
            while view:
                n = os.write(self.fd, view)
                view = view[n:]
        except OSError:
            # A full or failing disk: cut off whatever part of the batch got written, so
            # the segment still ends on a batch boundary, then report the error.
            try:
                os.ftruncate(self.fd, position)
            except OSError:
                pass
            raise
        for h in headers:
            self.note_batch(h, index=True, position=position)
            position += h.size
        self.size = position

    def scan(self, position: int, end: int | None = None) -> Iterator[tuple[int, BatchHeader]]:
        """(position, header) of each batch from ``position`` (a batch start) on."""
        end = self.size if end is None else end
        while position + BATCH_OVERHEAD <= end:
            head = os.pread(self.fd, BATCH_OVERHEAD, position)
            if len(head) < BATCH_OVERHEAD:
                return
            h = read_header(head)
            if h.size < BATCH_OVERHEAD or position + h.size > end:
                return
            yield position, h
            position += h.size

    def find_batch(self, offset: int) -> tuple[int, BatchHeader] | None:
        """The batch holding ``offset`` (or the first after it): position and header."""
        _, pos = self.index.lookup(offset)
        for p, h in self.scan(pos):
            if h.last_offset >= offset:
                return p, h
        return None

    def read_end(self, start: int, max_bytes: int, max_offset: int, min_one: bool) -> int:
        """End position of a read from batch position ``start``: whole batches, below
        ``max_offset``, within ``max_bytes`` (or one batch regardless when ``min_one``)."""
        end = start
        for p, h in self.scan(start):
            if h.base_offset >= max_offset:
                break
            if p + h.size - start > max_bytes:
                if end == start and min_one:
                    end = p + h.size
                break
            end = p + h.size
        return end

    def find_timestamp(self, timestamp: int) -> tuple[int, BatchHeader] | None:
        """The first batch whose max timestamp is at or after ``timestamp``."""
        start_offset = self.time_index.lookup(timestamp)
        _, pos = self.index.lookup(start_offset)
        for p, h in self.scan(pos):
            if h.max_timestamp >= timestamp:
                return p, h
        return None

    def read_bytes(self, position: int, size: int) -> bytes:
        return os.pread(self.fd, size, position)

    def offset_for_timestamp(self, timestamp: int, start_offset: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after ``timestamp`` and at or after
        ``start_offset`` in the batch the time index leads to, else None."""
        found = self.find_timestamp(timestamp)
        if found is None:
            return None
        position, h = found
        for off, ts in record_timestamps(self.read_bytes(position, h.size)):
            if ts >= timestamp and off >= start_offset:
                return off, ts
        return None

    def max_timestamp_entry(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record holding this segment's max timestamp: the
        first batch whose maxTimestamp equals it, then its first record with that timestamp.
        Records without timestamps answer the first record with -1; a batch with no record
        at its max answers nothing."""
        found = self.find_timestamp(self.max_timestamp)
        if found is None:
            return None
        position, h = found
        if h.max_timestamp != self.max_timestamp:
            return None
        for off, ts in record_timestamps(self.read_bytes(position, h.size)):
            if ts == self.max_timestamp:
                return off, ts
        # Only a header kpy trusted without reading its records (see validator.py) can
        # claim more than its records hold; answer the batch's last offset then.
        return (h.last_offset, h.max_timestamp) if h.max_timestamp >= 0 else None

    def largest_timestamp(self) -> int:
        """What retention compares with retention.ms: the max timestamp, or, when no batch
        carries one, the time the log file was last written (ms)."""
        if self.max_timestamp >= 0:
            return self.max_timestamp
        st = os.fstat(self.fd) if self.fd >= 0 else os.stat(self.log_path)
        return st.st_mtime_ns // 1_000_000

    # -- maintenance -----------------------------------------------------------------------------

    def truncate_to(self, offset: int) -> None:
        """Drop every batch at or after ``offset`` (offset must be a batch boundary)."""
        found = self.find_batch(offset)
        if found is None:
            return
        position, h = found
        if h.base_offset < offset:
            position += h.size
        os.ftruncate(self.fd, position)
        self.size = position
        self.index.truncate_to_position(position)
        self.time_index.truncate_to_offset(offset)
        self.txn_index.truncate_to(offset)
        # Recompute the tail state from the last index entry.
        self.next_offset = self.base_offset
        self.max_timestamp = self.time_index.last_timestamp
        self.offset_of_max_timestamp = (
            self.time_index.offsets[-1] if self.time_index.offsets else -1
        )
        idx_off, pos = self.index.lookup(2**63 - 1)
        self._bytes_since_index = 0
        for _, hh in self.scan(pos):
            self.note_batch(hh, index=False)
            self._bytes_since_index += hh.size

    @property
    def index_full(self) -> bool:
        return self.index.full or self.time_index.full

    def flush(self) -> None:
        if self.fd < 0:
            return  # closed or deleted meanwhile (flush runs in a worker thread)
        os.fsync(self.fd)
        self.index.flush()
        self.time_index.flush()
        self.txn_index.flush()

    def close(self) -> None:
        self._note_max_timestamp()  # as Kafka's LogSegment.close, and seal at a roll
        self.index.close()
        self.time_index.close()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def rename_files(self, suffix: str, *, indexes: bool = True) -> None:
        """Rename the ``.log`` file (and with ``indexes`` the index files) to their names
        with ``suffix``; the open fd follows the file."""
        name = segment_name(self.base_offset)
        self.log_path = _rename(self.log_path, self.dir / f"{name}.log{suffix}")
        if indexes:
            self.index.path = _rename(self.index.path, self.dir / f"{name}.index{suffix}")
            self.time_index.path = _rename(
                self.time_index.path, self.dir / f"{name}.timeindex{suffix}"
            )
            self.txn_index.path = _rename(
                self.txn_index.path, self.dir / f"{name}.txnindex{suffix}"
            )

    def paths(self) -> list[Path]:
        return [self.log_path, self.index.path, self.time_index.path, self.txn_index.path]

    def delete(self, closer: DeferredCloser | None = None, now_ms: int = 0) -> None:
        """Unlink the segment's files. With ``closer`` the log fd stays open (handed over
        to be closed later) so FileRegions already given out stay valid."""
        if closer is not None and self.fd >= 0:
            closer.add(self.fd, now_ms)
            self.fd = -1
        self.close()
        for p in self.paths():
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass


def _rename(old: Path, new: Path) -> Path:
    try:
        os.rename(old, new)
    except FileNotFoundError:
        pass  # an index never written
    return new


def record_timestamps(batch: bytes) -> list[tuple[int, int]]:
    """(offset, timestamp) of each record in a batch; LogAppendTime batches use maxTimestamp."""
    h = read_header(batch)
    if h.is_log_append_time:
        return [(h.base_offset + i, h.max_timestamp) for i in range(h.last_offset_delta + 1)]
    return [
        (h.base_offset + r.offset_delta, h.base_timestamp + r.timestamp_delta)
        for r in decode_records(batch)
    ]
