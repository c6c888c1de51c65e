"""Helpers for storage tests: build v2 batches and open logs with a controllable clock."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from kpy.protocol import records
from kpy.protocol.records import Record
from kpy.storage.log import Log, LogConfig
from kpy.storage.manager import LogManager

TOPIC_ID = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")


def make_batch(
    n: int = 1,
    *,
    value: bytes = b"v",
    timestamp: int = 1_000,
    ts_step: int = 0,
    producer_id: int = -1,
    epoch: int = -1,
    seq: int = -1,
    transactional: bool = False,
) -> bytearray:
    """A valid v2 batch of ``n`` records with base offset 0 (the log assigns the real one)."""
    recs = [
        Record(f"k{i}".encode(), value, [], offset_delta=i, timestamp_delta=i * ts_step)
        for i in range(n)
    ]
    return records.build_batch(
        recs,
        base_timestamp=timestamp,
        producer_id=producer_id,
        producer_epoch=epoch,
        base_sequence=seq,
        is_transactional=transactional,
    )


class Clock:
    """A settable clock in seconds, like time.time."""

    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> float:
        return self.now_ms / 1000

    def advance(self, ms: int) -> None:
        self.now_ms += ms


def batch_offsets(data: bytes) -> list[tuple[int, int]]:
    """(base offset, last offset) of each batch in ``data``."""
    return [(h.base_offset, h.last_offset) for _, h in records.iter_batches(data)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config() -> LogConfig:
    return LogConfig(segment_bytes=4096, index_interval_bytes=256)


def open_manager(tmp_path: Path, config: LogConfig, clock: Clock) -> LogManager:
    m = LogManager([str(tmp_path / "logs")], default_config=config, clock=clock)
    m.load()
    return m


@pytest.fixture
def new_log(tmp_path: Path, config: LogConfig, clock: Clock):
    """Factory: a fresh log 't-0' in its own manager; returns (manager, log)."""

    def make(cfg: LogConfig | None = None) -> tuple[LogManager, Log]:
        m = open_manager(tmp_path, cfg or config, clock)
        return m, m.create_log("t", 0, TOPIC_ID, cfg or config)

    return make
