"""Start-up safety: a second broker on a used data dir or port touches nothing and says why
in one line; start-up failures are one line and exit code 1, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from kpy.testing import BrokerProcess

RECORDS = 20


def run_kpy(*overrides: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """``python -m kpy serve --override ...``; a broker that starts instead of failing fails
    the test (it would serve until the timeout)."""
    cmd = [sys.executable, "-m", "kpy", "serve"]
    for override in overrides:
        cmd += ["--override", override]
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"kpy did not exit: {exc.stdout!r} {exc.stderr!r}")


def snapshot(root: Path) -> dict[str, tuple[bytes, int] | None]:
    """Every path under ``root``: a file's bytes and mtime, a directory's mtime."""
    out: dict[str, tuple[bytes, int] | None] = {}
    for dirpath, _, files in os.walk(root):
        out[dirpath] = (b"", os.stat(dirpath).st_mtime_ns)
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[path] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def produce(bootstrap: str, topic: str, values: list[bytes]) -> list[int]:
    """Produce ``values`` one by one (acks=all) and return their offsets."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    offsets: list[int] = []

    def delivered(err, msg):
        assert err is None, err
        offsets.append(msg.offset())

    for value in values:
        producer.produce(topic, value, on_delivery=delivered)
        producer.flush(15)
    assert len(offsets) == len(values)
    return offsets


def consume_to_end(bootstrap: str, topic: str, timeout: float = 20.0) -> list[tuple[int, bytes]]:
    """(offset, value) of partition 0 from the start until the end of the log."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{topic}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    out: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    return out
                raise AssertionError(f"consumer error: {msg.error()}")
            out.append((msg.offset(), msg.value()))
    finally:
        consumer.close()
    raise AssertionError(f"no end of partition within {timeout}s after {len(out)} records")


def test_second_broker_on_the_same_dir_touches_nothing(tmp_path):
    data = tmp_path / "data"
    values = [b"v%d" % i for i in range(RECORDS)]
    with BrokerProcess(data) as first:
        assert produce(first.bootstrap, "shared", values) == list(range(RECORDS))
        before = snapshot(data)

        out = run_kpy("listeners=PLAINTEXT://127.0.0.1:0", f"log.dirs={data}")

        assert out.returncode == 1
        assert out.stderr.splitlines() == [
            f"kpy: cannot start: Failed to acquire lock on file .lock in {data}. "
            "A Kafka instance in another process or thread is using this directory."
        ]
        assert "kpy ready" not in out.stdout
        assert snapshot(data) == before
        # The first broker still serves every record once, and appends after them.
        assert consume_to_end(first.bootstrap, "shared") == list(enumerate(values))
        assert produce(first.bootstrap, "shared", [b"more"]) == [RECORDS]
        assert first.stop() == 0


def test_second_broker_on_the_same_port_touches_nothing_of_its_dir(tmp_path):
    crashed = tmp_path / "crashed"
    with BrokerProcess(crashed) as old:
        produce(old.bootstrap, "t", [b"x"] * RECORDS)
        old.kill()  # no clean-shutdown marker: a start would recover and rewrite files
    before = snapshot(crashed)
    with BrokerProcess(tmp_path / "live") as live:
        out = run_kpy(f"listeners=PLAINTEXT://127.0.0.1:{live.port}", f"log.dirs={crashed}")

        assert out.returncode == 1
        assert out.stderr.splitlines() == [
            f"kpy: cannot start: Socket server failed to bind to 127.0.0.1:{live.port}: "
            "Address already in use (listener PLAINTEXT)"
        ]
        assert snapshot(crashed) == before
        assert produce(live.bootstrap, "t", [b"y"]) == [0]


def test_port_in_use_is_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = run_kpy(f"listeners=PLAINTEXT://127.0.0.1:{port}", f"log.dirs={tmp_path / 'data'}")
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"kpy: cannot start: Socket server failed to bind to 127.0.0.1:{port}: "
        "Address already in use (listener PLAINTEXT)"
    ]
    assert not (tmp_path / "data").exists()  # it failed before creating its data dir


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("under a file", "cannot create log dir {path}: Not a directory"),
        ("a file", "log dir {path} is not a directory"),
        ("cannot be created", "cannot create log dir {path}: "),
        ("not writable", "cannot write to log dir {path}: "),
    ],
)
def test_unusable_log_dir_is_one_line(tmp_path, case, expected):
    (tmp_path / "file").write_text("not a directory\n")
    if case == "under a file":
        path = str(tmp_path / "file" / "data")
    elif case == "a file":
        path = str(tmp_path / "file")
    elif case == "cannot be created":
        path = "/proc/kpy-no-such-dir/data"  # procfs makes no new entries, not even for root
    else:
        # Root writes through file modes, so a chmod proves nothing in CI (which runs as
        # root); sysfs refuses new files to everyone.
        if not os.path.isdir("/sys"):
            pytest.skip("needs /sys")
        path = "/sys"
    out = run_kpy("listeners=PLAINTEXT://127.0.0.1:0", f"log.dirs={path}")
    assert out.returncode == 1
    [line] = out.stderr.splitlines()
    assert line.startswith("kpy: cannot start: " + expected.format(path=path)), line
    assert (tmp_path / "file").read_text() == "not a directory\n"


def test_data_dir_of_another_node_id_is_refused(tmp_path):
    data = tmp_path / "data"
    with BrokerProcess(data, overrides={"node.id": 1}) as broker:
        produce(broker.bootstrap, "t", [b"x"])
    meta = (data / "meta.properties").read_bytes()

    out = run_kpy("listeners=PLAINTEXT://127.0.0.1:0", f"log.dirs={data}", "node.id=2")

    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"kpy: configuration error: Stored node id 1 doesn't match previous node id 2 in "
        f"{data / 'meta.properties'}. If you moved your data, make sure your configured node id "
        "matches. If you intend to create a new node, you should remove all data in your data "
        "directories."
    ]
    assert (data / "meta.properties").read_bytes() == meta
    with BrokerProcess(data, overrides={"node.id": 1}) as broker:  # its own node still starts
        assert consume_to_end(broker.bootstrap, "t") == [(0, b"x")]


def test_apache_kafka_data_dir_is_refused_untouched(tmp_path):
    """Pointed at a KRaft Kafka's log dir, kpy would see every partition dir as a log of an
    unknown topic (Kafka's topics live in its metadata log) and delete it: refuse instead."""
    data = tmp_path / "kafka-logs"
    (data / "__cluster_metadata-0").mkdir(parents=True)
    (data / "__cluster_metadata-0" / "00000000000000000000.log").write_bytes(b"\0" * 64)
    (data / ".lock").touch()  # Kafka leaves its lock file behind
    (data / "orders-0").mkdir()
    (data / "orders-0" / "00000000000000000000.log").write_bytes(b"\1" * 64)
    (data / "meta.properties").write_text(
        "version=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\nnode.id=1\n"
        "directory.id=J8aAPcfLQt2bqs1JT_rMgQ\n"
    )
    before = snapshot(data)

    out = run_kpy("listeners=PLAINTEXT://127.0.0.1:0", f"log.dirs={data}", "node.id=1")

    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"kpy: configuration error: {data} is an Apache Kafka data dir (it holds "
        "__cluster_metadata-0); kpy keeps its own topic registry and cannot serve it: give kpy "
        "a dir of its own"
    ]
    assert snapshot(data) == before
