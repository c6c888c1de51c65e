"""A log dir whose fsync fails goes offline; the broker keeps serving everything else.

The broker runs in its own process, started through a small wrapper (below, test code only)
that makes fsync of the ``.log`` files of partition ``broken-0`` fail with EIO, as a failing
disk would. Produce to that partition then gets KAFKA_STORAGE_ERROR, as do the other
partitions of its log dir (Kafka's LogDirFailureChannel); the connection stays open,
partitions in the other log dir and every other API keep working, the process stays up,
and after a restart the dir is recovered and served again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer

from conformance.raw import batch, create_topic, fetch, first_partition, produce
from conformance.wire import WireClient
from kpy.protocol.messages.describe_log_dirs import DescribeLogDirsRequest
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.protocol.messages.produce import ProduceRequest
from kpy.testing import BrokerProcess

STORAGE_ERROR = 56

_FAILING_FSYNC = """
import errno, os, runpy, sys

real_fsync = os.fsync

def fsync(fd):
    try:
        path = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        path = ""
    if "/broken-0/" in path and path.endswith(".log"):
        raise OSError(errno.EIO, "Input/output error (injected by the test)")
    return real_fsync(fd)

os.fsync = fsync
sys.argv[0] = "kpy"
runpy.run_module("kpy", run_name="__main__")
"""


class FailingDiskBroker(BrokerProcess):
    """kpy, with fsync of partition broken-0's segment files failing."""

    def command(self) -> list[str]:
        return [sys.executable, "-c", _FAILING_FSYNC, *super().command()[3:]]


def produce_general_path(wire: WireClient, topic: str, partition: int = 0):
    """A produce request the connection's shortcut leaves to dispatch (it carries a tagged
    field), so the handler's own flush path answers it."""
    req = ProduceRequest(
        acks=-1,
        timeout_ms=10000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name=topic,
                partition_data=[
                    ProduceRequest.PartitionProduceData(index=partition, records=batch(1))
                ],
            )
        ],
        unknown_tagged_fields=[(7, b"x")],
    )
    return wire.send(req, 9).responses[0].partition_responses[0]


def home_dir(dirs: list[Path], partition: str) -> Path:
    [home] = [d for d in dirs if (d / partition).is_dir()]
    return home


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", ["shortcut", "dispatch"])
def test_failed_fsync_takes_the_log_dir_offline_and_the_broker_keeps_serving(tmp_path, path):
    dirs = [tmp_path / "d1", tmp_path / "d2"]
    overrides = {"log.dirs": ",".join(map(str, dirs))}
    broker = FailingDiskBroker(tmp_path / "data", overrides=overrides, log_level="INFO")
    with broker, WireClient(broker.bootstrap) as wire:
        assert create_topic(wire, "broken", 1, {"flush.messages": "1"}).error_code == 0
        assert create_topic(wire, "other", 4).error_code == 0
        bad = home_dir(dirs, "broken-0")
        [good] = [d for d in dirs if d != bad]
        sibling = next(p for p in range(4) if home_dir(dirs, f"other-{p}") == bad)
        healthy = next(p for p in range(4) if home_dir(dirs, f"other-{p}") == good)
        assert produce(wire, "other", batch(2), sibling).error_code == 0

        # The flush that flush.messages=1 makes due fails: KAFKA_STORAGE_ERROR, not a
        # dropped connection or UNKNOWN_SERVER_ERROR.
        if path == "shortcut":
            res = produce(wire, "broken", batch(1))
        else:
            res = produce_general_path(wire, "broken")
        assert (res.error_code, res.base_offset) == (STORAGE_ERROR, -1)

        # The same connection goes on: the whole dir is offline, the other dir is not.
        assert produce(wire, "broken", batch(1)).error_code == STORAGE_ERROR
        assert produce(wire, "other", batch(1), sibling).error_code == STORAGE_ERROR
        assert produce_general_path(wire, "other", sibling).error_code == STORAGE_ERROR
        assert first_partition(fetch(wire, "broken", 0)).error_code == STORAGE_ERROR
        assert first_partition(fetch(wire, "other", 0, partition=sibling)).error_code == (
            STORAGE_ERROR
        )
        ok = produce(wire, "other", batch(3), healthy)
        assert (ok.error_code, ok.base_offset) == (0, 0)
        part = first_partition(fetch(wire, "other", 0, partition=healthy))
        assert part.error_code == 0 and part.high_watermark == 3
        assert wire.send(MetadataRequest(topics=[]), 12).brokers
        results = wire.send(DescribeLogDirsRequest(topics=None), 4).results
        assert {Path(r.log_dir): r.error_code for r in results} == {bad: STORAGE_ERROR, good: 0}
        # New partitions go to the dir still online.
        assert create_topic(wire, "later", 2).error_code == 0
        assert home_dir(dirs, "later-0") == home_dir(dirs, "later-1") == good

        # A real client: its produce to the offline partition fails with the same error,
        # while its produce to the healthy one is delivered.
        producer = Producer(
            {"bootstrap.servers": broker.bootstrap, "retries": 0, "enable.idempotence": False}
        )
        reports: dict[str, KafkaError | None] = {}

        def report(name):
            return lambda err, _msg: reports.__setitem__(name, err)

        producer.produce("broken", b"v", partition=0, on_delivery=report("broken"))
        producer.produce("other", b"v", partition=healthy, on_delivery=report("healthy"))
        assert producer.flush(30) == 0
        assert reports["broken"] is not None
        assert reports["broken"].code() == KafkaError.KAFKA_STORAGE_ERROR
        assert reports["healthy"] is None

        assert broker.alive()
        log = broker.tail_log(400)
        offline_lines = [line for line in log.splitlines() if "is offline after an I/O" in line]
        assert len(offline_lines) == 1 and str(bad) in offline_lines[0], log
        assert "ERROR" in offline_lines[0]

    # A restart (the disk fixed) recovers the dir and serves it again, data kept.
    with (
        BrokerProcess(tmp_path / "data", overrides=overrides) as again,
        WireClient(again.bootstrap) as wire,
    ):
        assert produce(wire, "other", batch(1), sibling).error_code == 0
        part = first_partition(fetch(wire, "other", 0, partition=sibling))
        assert part.error_code == 0 and part.high_watermark == 3
        assert produce(wire, "broken", batch(1)).error_code == 0
