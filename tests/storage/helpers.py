"""Batches and clocks for storage tests."""

from __future__ import annotations

from kpy.protocol import records
from kpy.protocol.records import Record


class Clock:
    """A clock the test moves by hand (seconds, like time.time)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def batch(
    values: list[bytes],
    *,
    timestamp: int = 1_700_000_000_000,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    key: bytes | None = b"k",
) -> bytearray:
    recs = [Record(key, v, [], i, i) for i, v in enumerate(values)]
    return records.build_batch(
        recs,
        base_timestamp=timestamp,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
    )


def read_values(log, start: int = 0) -> list[tuple[int, bytes]]:
    """(offset, value) of every record from ``start`` to the log end, via Log.read."""
    out = []
    offset = max(start, log.log_start_offset)
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20).records.read()
        if not data:
            break
        for pos, h in records.iter_batches(data):
            for r in records.decode_records(data, pos):
                o = h.base_offset + r.offset_delta
                if o >= offset:
                    out.append((o, r.value))
            offset = h.next_offset
    return out
