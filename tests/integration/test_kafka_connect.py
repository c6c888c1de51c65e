"""Kafka Connect 4.4 against kpy and against Apache Kafka: a distributed worker and a
standalone one run FileStreamSource (a file we append lines to) -> topic -> FileStreamSink (a
file we read), from Kafka's own jars.

The distributed worker keeps its connectors' configs, source offsets and statuses in three
topics it creates (compacted, one replica) and joins its group with Connect's own group
protocol; after a SIGTERM, and again after a SIGKILL, a new worker finds the connectors in
those topics and carries on, delivering every line (at least once after a SIGKILL).
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from unittest.mock import ANY

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from conformance.reference import free_port
from conformance.wire import WireClient
from kpy.protocol.messages.describe_groups import DescribeGroupsRequest
from tests.integration.helpers import wait_for
from tests.integration.jvm_apps import JAVA_SOURCES, JavaApp, compile_java
from tests.test_readme import README_CONNECT, README_CONNECT_CONFIG, block

DISTRIBUTED = "org.apache.kafka.connect.cli.ConnectDistributed"
STANDALONE = "org.apache.kafka.connect.cli.ConnectStandalone"
SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"
SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"
SHIM = JAVA_SOURCES / "connect/org/apache/kafka/common/utils/AppInfoParser.java"


@pytest.fixture(scope="session")
def connect_classes(tmp_path_factory) -> Path:
    """The file connectors' missing AppInfoParser (see its source), compiled once."""
    return compile_java(tmp_path_factory, [SHIM])


def write_properties(path: Path, settings: dict[str, object]) -> Path:
    path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    return path


def worker_settings(bootstrap: str, port: int) -> dict[str, object]:
    return {
        "bootstrap.servers": bootstrap,
        "listeners": f"http://127.0.0.1:{port}",
        "rest.advertised.host.name": "127.0.0.1",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        # The file connectors are on the class path: found through their service files
        # instead of a scan of every jar.
        "plugin.discovery": "service_load",
        "offset.flush.interval.ms": 500,
    }


class Worker:
    """A Connect worker JVM and its REST API."""

    def __init__(
        self, work: Path, name: str, main_class: str, args: list[str], port: int, classes: Path
    ):
        self.app = JavaApp(work, name, main_class, args, classes=classes)
        self.url = f"http://127.0.0.1:{port}"

    def rest(self, method: str, path: str, body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def start(self) -> Worker:
        self.app.start()
        wait_for(self._serving, timeout=90, interval=0.2, message=f"{self.url} to answer")
        return self

    def _serving(self) -> bool:
        assert self.app.proc is not None
        assert self.app.proc.poll() is None, f"the worker exited: {self.app.tail_log()}"
        try:  # 503 until the worker has read its topics and joined its group (KIP-1017)
            return self.rest("GET", "/health") == {"status": "healthy", "message": ANY}
        except OSError:  # urllib.error.URLError, HTTPError: not up yet
            return False

    def wait_running(self, connector: str) -> None:
        def running() -> bool:
            try:
                status = self.rest("GET", f"/connectors/{connector}/status")
            except urllib.error.HTTPError:  # not known yet
                return False
            assert isinstance(status, dict)
            states = [status["connector"]["state"], *(t["state"] for t in status["tasks"])]
            assert "FAILED" not in states, (status, self.app.tail_log())
            return len(states) == 2 and set(states) == {"RUNNING"}

        wait_for(running, timeout=90, interval=0.2, message=f"{connector} RUNNING")

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.app.__exit__()


class Files:
    """The source file lines are appended to and the sink file they must reach."""

    def __init__(self, work: Path) -> None:
        self.source = work / "source.txt"
        self.sink = work / "sink.txt"
        self.source.touch()
        self.written: list[str] = []

    def append(self, n: int) -> None:
        new = [f"line-{i}" for i in range(len(self.written), len(self.written) + n)]
        with self.source.open("a") as f:
            f.write("".join(f"{line}\n" for line in new))
        self.written += new

    def delivered(self) -> Counter[str]:
        if not self.sink.exists():
            return Counter()
        return Counter(self.sink.read_text().splitlines())

    def wait_delivered(self) -> Counter[str]:
        """The sink's lines, once every line written has reached it."""
        return wait_for(
            lambda: (seen := self.delivered()).keys() >= set(self.written) and seen,
            timeout=90,
            interval=0.2,
            message=f"{len(self.written)} lines in {self.sink}",
        )


def connector_configs(files: Files, topic: str) -> dict[str, dict[str, object]]:
    return {
        f"{topic}-source": {
            "connector.class": SOURCE,
            "tasks.max": 1,
            "file": str(files.source),
            "topic": topic,
        },
        f"{topic}-sink": {
            "connector.class": SINK,
            "tasks.max": 1,
            "file": str(files.sink),
            "topics": topic,
        },
    }


def cleanup_policies(bootstrap: str, topics: list[str]) -> dict[str, str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resources = [ConfigResource("topic", t) for t in topics]
    return {
        r.name: future.result(30)["cleanup.policy"].value
        for r, future in admin.describe_configs(resources).items()
    }


def describe_group(bootstrap: str, group: str) -> tuple[str, str, str, int]:
    """(protocol type, protocol, state, members) of a group, as DescribeGroups answers."""
    with WireClient(bootstrap) as wire:
        found = wire.send(DescribeGroupsRequest(groups=[group]), 5).groups[0]
    return found.protocol_type, found.protocol_data, found.group_state, len(found.members)


@pytest.mark.timeout(300)
def test_distributed_worker_delivers_every_line_across_restarts(
    bootstrap, tmp_path, topic_name, connect_classes
):
    port = free_port()
    internal = {
        "config.storage.topic": f"{topic_name}-configs",
        "offset.storage.topic": f"{topic_name}-offsets",
        "status.storage.topic": f"{topic_name}-status",
    }
    settings = {
        **worker_settings(bootstrap, port),
        "group.id": topic_name,
        **internal,
        "config.storage.replication.factor": 1,
        "offset.storage.replication.factor": 1,
        "status.storage.replication.factor": 1,
        # A killed worker leaves the group after its session timeout; its connectors and
        # tasks are then given out again at once instead of after the default 5 minutes.
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "scheduled.rebalance.max.delay.ms": 0,
        # The same for the sink task's consumer group.
        "consumer.session.timeout.ms": 6000,
        "consumer.heartbeat.interval.ms": 1000,
    }
    properties = write_properties(tmp_path / "worker.properties", settings)
    worker = Worker(
        tmp_path, "connect-distributed", DISTRIBUTED, [str(properties)], port, connect_classes
    )
    files = Files(tmp_path)
    connectors = connector_configs(files, topic_name)

    with worker:
        assert cleanup_policies(bootstrap, list(internal.values())) == dict.fromkeys(
            internal.values(), "compact"
        )
        for name, config in connectors.items():
            worker.rest("PUT", f"/connectors/{name}/config", config)
        for name in connectors:
            worker.wait_running(name)
        assert sorted(worker.rest("GET", "/connectors")) == sorted(connectors)  # type: ignore[arg-type]
        # Connect's own group protocol, its newest subprotocol (KIP-507).
        described = ("connect", "sessioned", "Stable", 1)
        wait_for(lambda: describe_group(bootstrap, topic_name) == described, timeout=30)
        files.append(100)
        assert files.wait_delivered() == Counter(files.written)

        # A clean stop: the worker commits its offsets and leaves the group.
        worker.app.stop()
        files.append(100)
    with worker:
        for name in connectors:  # read back from the config topic
            worker.wait_running(name)
        assert files.wait_delivered() == Counter(files.written)

        # A crash: the lines since the last offset commit may come again.
        files.append(100)
        files.wait_delivered()
        worker.app.kill()
        files.append(100)
    with worker:
        for name in connectors:
            worker.wait_running(name)
        delivered = files.wait_delivered()
    assert delivered.keys() == set(files.written)
    # Lines delivered before the clean stop came once; those after it may come again, as far
    # back as the killed worker's last commit of source offsets and sink offsets.
    duplicated = {line for line, n in delivered.items() if n > 1}
    assert not duplicated & set(files.written[:100]), sorted(duplicated)


@pytest.mark.timeout(180)
def test_standalone_worker_delivers_every_line(bootstrap, tmp_path, topic_name, connect_classes):
    port = free_port()
    settings = {
        **worker_settings(bootstrap, port),
        "offset.storage.file.filename": tmp_path / "offsets",
    }
    files = Files(tmp_path)
    args = [str(write_properties(tmp_path / "worker.properties", settings))]
    for name, config in connector_configs(files, topic_name).items():
        args.append(
            str(write_properties(tmp_path / f"{name}.properties", {"name": name, **config}))
        )
    files.append(50)
    with Worker(tmp_path, "connect-standalone", STANDALONE, args, port, connect_classes) as worker:
        for name in connector_configs(files, topic_name):
            worker.wait_running(name)
        files.append(50)
        assert files.wait_delivered() == Counter(files.written)


@pytest.mark.timeout(180)
def test_readme_connect_commands(broker, tmp_path, connect_classes):
    """The README's worker config and commands, against kpy: the worker from the jars (the
    file connectors on the class path, not in plugin.path), its REST API on a free port."""
    port = free_port()
    config = [
        line
        for line in block(README_CONNECT_CONFIG).splitlines()
        if not line.startswith("plugin.path=")
    ]
    config += [f"listeners=http://127.0.0.1:{port}", "plugin.discovery=service_load"]
    properties = tmp_path / "connect-distributed.properties"
    properties.write_text("\n".join(config).replace("localhost:9092", broker.bootstrap) + "\n")
    start, *commands, show = block(README_CONNECT).splitlines()
    assert start == f"bin/connect-distributed.sh {properties.name} &"

    def sh(line: str) -> str:
        line = line.replace("localhost:8083", f"127.0.0.1:{port}").replace("/tmp/", f"{tmp_path}/")
        out = subprocess.run(line, shell=True, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (line, out.stderr)
        return out.stdout

    worker = Worker(tmp_path, "connect", DISTRIBUTED, [str(properties)], port, connect_classes)
    with worker:
        for line in commands:
            sh(line)
        sink = tmp_path / "lines-out.txt"
        wait_for(lambda: sink.exists() and sink.read_text(), timeout=60, message="a line out")
        assert sh(show) == "hello\n"
        for name in ("lines-in", "lines-out"):
            worker.wait_running(name)
