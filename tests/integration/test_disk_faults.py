"""Disk faults: a full log dir gives KAFKA_STORAGE_ERROR and goes offline (Kafka's
LogDirFailureChannel) while the broker keeps serving; a restart once space is back brings it
online with every acknowledged batch. Uses a small tmpfs (needs root; skipped otherwise)."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from conformance.raw import batch, create_topic, fetch, first_partition, produce
from conformance.wire import WireClient
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.testing import BrokerProcess


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path):
    """Write ``path`` until the file system is full."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


@pytest.mark.timeout(120)
def test_full_disk_takes_the_log_dir_offline_until_a_restart(small_disk):
    broker = BrokerProcess(small_disk / "data", log_file=small_disk.parent / "broker.log")
    with broker, WireClient(broker.bootstrap) as wire:
        topic = f"full-{uuid.uuid4().hex[:6]}"
        assert create_topic(wire, topic, 1).error_code == 0
        assert produce(wire, topic, batch(10)).error_code == 0
        filler = small_disk / "filler"
        try:
            fill(filler)
            res = produce(wire, topic, batch(10, size=2000))
            assert res.error_code == 56  # KAFKA_STORAGE_ERROR
            # Still serving on the same connection: metadata; the dir's partitions answer
            # KAFKA_STORAGE_ERROR, as a Kafka broker with another log dir left does.
            assert wire.send(MetadataRequest(topics=[]), 12).brokers
            assert first_partition(fetch(wire, topic, 0)).error_code == 56
        finally:
            filler.unlink()
        # Space is back, but what reached the disk is unknown: the dir stays offline.
        assert produce(wire, topic, batch(10, size=2000)).error_code == 56
        assert broker.alive()
        broker.stop()
        broker.start()
        with WireClient(broker.bootstrap) as again:
            # Restarted: recovered, and produce goes on right after the last acknowledged offset.
            res = produce(again, topic, batch(10, size=2000))
            assert res.error_code == 0 and res.base_offset == 10
            data = bytes(first_partition(fetch(again, topic, 0)).records)
        from kpy.protocol import records

        assert [h.base_offset for _, h in records.iter_batches(data)] == [0, 10]


def test_unreadable_segment_takes_only_its_partition_offline(tmp_path):
    data = tmp_path / "data"
    with BrokerProcess(data) as broker:
        with WireClient(broker.bootstrap) as wire:
            for name in ("broken", "healthy"):
                assert create_topic(wire, name, 1).error_code == 0
                assert produce(wire, name, batch(3)).error_code == 0
        broker.stop()
        segment = data / "broken-0" / "00000000000000000000.log"
        segment.unlink()
        segment.mkdir()  # the segment can no longer be opened as a file
        broker.start()
        with WireClient(broker.bootstrap) as wire:
            assert produce(wire, "healthy", batch(1)).error_code == 0
            assert first_partition(fetch(wire, "healthy", 0)).high_watermark == 4
            assert produce(wire, "broken", batch(1)).error_code == 56
            assert first_partition(fetch(wire, "broken", 0)).error_code == 56
        assert "broken-0 is offline" in broker.tail_log(200)
