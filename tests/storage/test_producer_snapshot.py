"""Producer snapshots in Kafka's file format: bytes, round trip, and corrupt files."""

from __future__ import annotations

import logging
import os
import struct

import pytest

from kpy.protocol.records import crc32c
from kpy.storage.producer_state import (
    BatchMeta,
    CorruptSnapshot,
    ProducerEntry,
    ProducerStateManager,
    decode_snapshot,
    encode_snapshot,
)
from tests.storage.conftest import TOPIC_ID, make_batch, open_manager


def entry(pid, epoch, batches, *, txn=-1, coord=-1, ts=1234):
    e = ProducerEntry(pid, epoch, last_timestamp=ts, coordinator_epoch=coord)
    e.current_txn_first_offset = txn
    for b in batches:
        e.batches.append(BatchMeta(*b))
    return e


def test_layout_matches_kafka_version_1():
    e = entry(7, 2, [(0, 4, 10, 14, 99), (5, 9, 15, 19, 1234)], txn=15, coord=3)
    data = encode_snapshot([e])
    body = struct.pack(">i", 1) + struct.pack(">qhiqiqiq", 7, 2, 9, 19, 4, 1234, 3, 15)
    assert data == struct.pack(">hI", 1, crc32c(body)) + body
    (got,) = decode_snapshot(data)
    assert (got.producer_id, got.producer_epoch, got.current_txn_first_offset) == (7, 2, 15)
    assert got.coordinator_epoch == 3 and got.last_timestamp == 1234
    # Only the last batch is kept, as in Kafka.
    assert list(got.batches) == [BatchMeta(5, 9, 15, 19, 1234)]


def test_producer_without_batches_round_trips():
    (got,) = decode_snapshot(encode_snapshot([entry(1, 0, [], txn=-1)]))
    assert not got.batches and got.last_sequence == -1


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:-1],
        lambda d: d[:4],
        lambda d: d[:10] + bytes([d[10] ^ 1]) + d[11:],
        lambda d: b"\x00\x02" + d[2:],
        lambda d: b'{"version": 1}',
    ],
)
def test_damaged_snapshots_are_rejected(damage):
    data = encode_snapshot([entry(1, 0, [(0, 0, 0, 0, 1)])])
    with pytest.raises(CorruptSnapshot):
        decode_snapshot(damage(data))


def test_corrupt_newest_snapshot_falls_back_and_logs(tmp_path, caplog):
    psm = ProducerStateManager(tmp_path)
    psm.producers = {1: entry(1, 0, [(0, 0, 5, 5, 1)])}
    psm.take_snapshot(10)
    good = psm.snapshot_path(10).read_bytes()
    psm.take_snapshot(20)  # deletes the older one
    psm.snapshot_path(10).write_bytes(good)
    psm.snapshot_path(20).write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        assert psm.load_snapshot(100) == 10
    assert "discarding producer snapshot" in caplog.text
    assert not psm.snapshot_path(20).exists()
    assert psm.producers[1].last_offset == 5


def test_log_replays_past_a_corrupt_snapshot(tmp_path, config, clock, caplog):
    m = open_manager(tmp_path, config, clock)
    lg = m.create_log("t", 0, TOPIC_ID, config)
    for i in range(10):
        lg.append(make_batch(1, producer_id=4, epoch=0, seq=i), leader_epoch=0)
    m.close()
    (snap,) = [p for p in lg.dir.iterdir() if p.suffix == ".snapshot"]
    snap.write_bytes(snap.read_bytes()[:-3])
    with caplog.at_level(logging.WARNING, logger="kpy.storage"):
        m = open_manager(tmp_path, config, clock)
    lg = m.get_log("t", 0)
    assert "discarding producer snapshot" in caplog.text
    # Rebuilt from the log headers: all five last batches are known again.
    for seq in range(5, 10):
        dup = lg.append(make_batch(1, producer_id=4, epoch=0, seq=seq), leader_epoch=0)
        assert dup.duplicate and dup.base_offset == seq
    m.close()


def test_a_roll_leaves_the_snapshot_fsync_to_the_housekeeping_thread(
    tmp_path, config, clock, monkeypatch
):
    # A roll happens inside a produce request, on the event loop: it writes the snapshot but
    # does not wait on the disk. The housekeeping pass (a worker thread) fsyncs it, and only
    # then deletes the older snapshot that a power failure would fall back to.
    m = open_manager(tmp_path, config, clock)
    lg = m.create_log("t", 0, TOPIC_ID, config)
    lg.append(make_batch(1, producer_id=4, epoch=0, seq=0), leader_epoch=0)
    lg.roll()
    lg.append(make_batch(1, producer_id=4, epoch=0, seq=1), leader_epoch=0)
    m.flush_if_needed(clock.now_ms)
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    lg.roll()
    assert synced == []
    assert lg.producer_state.snapshots() == [1, 2]
    m.flush_if_needed(clock.now_ms)
    assert len(synced) == 2  # the file and its directory
    assert lg.producer_state.snapshots() == [2]
    # The snapshot is the state as of the roll: both batches are known after a restart.
    m.close(clean=False)
    m = open_manager(tmp_path, config, clock)
    lg = m.get_log("t", 0)
    assert lg.append(make_batch(1, producer_id=4, epoch=0, seq=1), leader_epoch=0).duplicate
    m.close()
