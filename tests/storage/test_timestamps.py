"""Records produced without timestamps (librdkafka's C++ API sends baseTimestamp -1,
maxTimestamp 0; the validator stores maxTimestamp -1): retention judges their segment by the
log file's modification time, the time index gets no entry from them, and ListOffsets by
time / MAX_TIMESTAMP answer as Apache Kafka 4.4 does."""

from __future__ import annotations

import os
import uuid

import pytest

from kpy.protocol import records
from kpy.protocol.records import Record
from kpy.storage.log import LogConfig
from kpy.storage.manager import LogManager
from kpy.storage.validator import validate_produce_records
from tests.storage.helpers import Clock, batch, read_values

CONFIG = LogConfig(segment_bytes=500, index_interval_bytes=100, retention_ms=60_000)


TOPIC = {
    "max.message.bytes": 1_048_588,
    "message.timestamp.type": "CreateTime",
    "message.timestamp.before.max.ms": 2**63 - 1,
    "message.timestamp.after.max.ms": 2**63 - 1,
    "cleanup.policy": "delete",
    "compression.type": "producer",
}


def append_untimed(lg, n: int = 2, size: int = 40, deltas: list[int] | None = None) -> None:
    """Produce records without timestamps as librdkafka's C++ API sends them (baseTimestamp
    -1, maxTimestamp 0), through the validator, as the produce path does."""
    deltas = deltas or [0] * n
    recs = [Record(b"k", b"x" * size, [], i, d) for i, d in enumerate(deltas)]
    sent = records.build_batch(recs, base_timestamp=-1, max_timestamp=0)
    lg.append_batch(validate_produce_records(sent, TOPIC, 1_700_000_000_000), leader_epoch=0)


def set_mtime(seg, ms: int) -> None:
    os.utime(seg.log_path, ns=(ms * 1_000_000, ms * 1_000_000))


def open_log(tmp_path, clock=None, config=CONFIG):
    mgr = LogManager([str(tmp_path)], default_config=config, clock=clock or Clock())
    mgr.load()
    return mgr, mgr.get_log("t", 0) or mgr.create_log("t", 0, uuid.uuid4(), config)


def test_retention_of_untimed_segments_goes_by_file_mtime(tmp_path):
    clock = Clock()
    _, lg = open_log(tmp_path, clock)
    while len(lg.segments) < 4:
        append_untimed(lg)
    end = lg.log_end_offset
    # Segments created long ago but written 30 s ago are within retention.ms=60 s.
    clock.advance(600)
    now = int(clock() * 1000)
    for seg in lg.segments:
        set_mtime(seg, now - 30_000)
        assert seg.max_timestamp == -1
    assert lg.apply_retention(now) == 0
    assert lg.log_start_offset == 0 and [o for o, _ in read_values(lg)] == list(range(end))
    # The oldest one last written 2 minutes ago goes, alone.
    first_of_second = lg.segments[1].base_offset
    set_mtime(lg.segments[0], now - 120_000)
    assert lg.apply_retention(now) == 1
    assert lg.log_start_offset == first_of_second
    # All of them, the active one included (rolled first, as in Kafka).
    for seg in lg.segments:
        set_mtime(seg, now - 120_000)
    lg.apply_retention(now)
    assert lg.log_start_offset == lg.log_end_offset == end
    assert len(lg.segments) == 1 and lg.active.size == 0


@pytest.mark.parametrize("clean", [True, False], ids=["clean", "crash"])
def test_untimed_batches_add_no_time_index_entries(tmp_path, clean):
    config = LogConfig(segment_bytes=100_000, index_interval_bytes=100)
    mgr, lg = open_log(tmp_path, config=config)
    for _ in range(8):
        append_untimed(lg)
    seg = lg.active
    assert len(seg.index.offsets) > 1  # index entries were due ...
    assert list(seg.time_index.timestamps) == []  # ... but no timestamp to index
    mgr.close(clean=clean)  # not clean: files closed as a crash leaves them, then recovery
    _, lg = open_log(tmp_path, config=config)
    assert lg.recovery_report.recovered_segments == ([] if clean else [0])
    seg = lg.active
    assert seg.max_timestamp == -1 and list(seg.time_index.timestamps) == []
    lg.append(batch([b"t"], timestamp=5_000), leader_epoch=0)
    for _ in range(2):  # past the index interval: an entry is due
        append_untimed(lg, size=200)
    assert list(seg.time_index.timestamps) == [5_000]


def test_list_offsets_answers_for_untimed_records(tmp_path):
    """Kafka 4.4 answered: MAX_TIMESTAMP (0, -1), by timestamp 0 nothing; after a timed batch
    both find it; and a batch whose records are all below -1 has no max-timestamp record."""
    _, lg = open_log(tmp_path / "a")
    append_untimed(lg, 5)
    assert lg.max_timestamp_entry() == (0, -1)
    assert lg.offset_for_timestamp(0) is None
    lg.append(batch([b"t"], timestamp=5_000), leader_epoch=0)
    assert lg.max_timestamp_entry() == (5, 5_000)
    assert lg.offset_for_timestamp(0) == (5, 5_000)

    _, lg = open_log(tmp_path / "b")
    append_untimed(lg, deltas=[-3, -2])
    assert lg.max_timestamp_entry() is None
    _, lg = open_log(tmp_path / "c")
    assert lg.max_timestamp_entry() is None  # empty log
