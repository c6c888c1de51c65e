"""The reference broker: Apache Kafka from Maven Central, started like ``kpy.testing.BrokerProcess``.

    with ApacheKafkaProcess(tmp_path) as kafka:
        producer = Producer({"bootstrap.servers": kafka.bootstrap})

``conformance/kafka/pom.xml`` names the Kafka release and its artifacts; ``ensure_jars`` copies
them with Maven into ``.cache/kafka-<version>/`` (ignored by git) once per machine. A started
broker is a single KRaft node, broker and controller in one JVM, formatted afresh in its own
directory with a random cluster id, on free loopback ports, with a bounded heap. Apart from
what one node needs (replication factors of 1) and ``group.initial.rebalance.delay.ms=0``, it
runs with Kafka's defaults. ``python -m conformance.reference`` runs one in the foreground.
``prepare()`` does everything but the start (config files, storage format) and returns the
command line, for callers that run and time the process themselves (bench/).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from kpy.testing import ChildProcess

ROOT = Path(__file__).resolve().parents[1]
POM = ROOT / "conformance" / "kafka" / "pom.xml"
KAFKA_VERSION = "4.4.0"


def cache_dir() -> Path:
    """Where the jars live: $KPY_KAFKA_CACHE, else .cache/kafka-<version> in the checkout."""
    override = os.environ.get("KPY_KAFKA_CACHE")
    return Path(override) if override else ROOT / ".cache" / f"kafka-{KAFKA_VERSION}"


def ensure_jars() -> Path:
    """The directory holding Kafka's jars, resolved from Maven Central on first use."""
    target = cache_dir()
    stamp = target / ".pom-sha256"
    wanted = hashlib.sha256(POM.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("Maven (mvn) is needed to fetch Apache Kafka's jars")
    subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-Dcache.dir={target}"],
        check=True,
    )
    stamp.write_text(wanted)
    return target


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
"""

# INFO to stdout, as Kafka's own log4j2.yaml also does for a broker run in the foreground.
LOG4J2_CONSOLE = """\
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = console
"""

# What this module gave the JVM before callers could choose: G1 (the JVM's default too).
DEFAULT_JVM_OPTS = ("-XX:+UseG1GC", "-Djava.awt.headless=true")


class ApacheKafkaProcess(ChildProcess):
    """One Apache Kafka node (KRaft, broker + controller) in a child JVM."""

    stop_timeout = 30.0  # a controlled shutdown

    def __init__(
        self,
        work_dir: str | os.PathLike[str],
        *,
        overrides: dict[str, object] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        heap: str = "768m",
        start_timeout: float = 120.0,
        jvm_opts: Sequence[str] = DEFAULT_JVM_OPTS,
        console_log: bool = False,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.overrides = dict(overrides or {})
        self.host = host
        self.port = port
        self.heap = heap
        self.start_timeout = start_timeout
        self.jvm_opts = list(jvm_opts)
        self.console_log = console_log
        self.proc: subprocess.Popen[bytes] | None = None
        self.bootstrap = ""

    @property
    def log_path(self) -> Path:
        return self.work_dir / "server.log"

    def properties(self, port: int, controller_port: int) -> dict[str, object]:
        settings: dict[str, object] = {
            "process.roles": "broker,controller",
            "node.id": 1,
            "controller.quorum.voters": f"1@{self.host}:{controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{port},CONTROLLER://{self.host}:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.work_dir / "data"),
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
        }
        settings.update(self.overrides)
        return settings

    def _java(self, jars: Path, *args: str, heap: str | None = None) -> list[str]:
        home = os.environ.get("JAVA_HOME")
        java = os.path.join(home, "bin", "java") if home else "java"
        cmd = [java]
        if heap:
            cmd += [f"-Xmx{heap}", f"-Xms{heap}"]
        cmd += [
            *self.jvm_opts,
            f"-Dlog4j2.configurationFile={self.work_dir / 'log4j2.properties'}",
            "-cp",
            f"{jars}/*",
            *args,
        ]
        return cmd

    def prepare(self) -> list[str]:
        """Write the config files, format the storage dir once, pick the ports; the command
        line that starts the broker (not started here)."""
        jars = ensure_jars()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        port = self.port or free_port(self.host)
        props = self.properties(port, free_port(self.host))
        config = self.work_dir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        log4j = LOG4J2_CONSOLE if self.console_log else LOG4J2.format(log=self.log_path)
        (self.work_dir / "log4j2.properties").write_text(log4j)
        if not (self.work_dir / "data" / "meta.properties").exists():
            cluster_id = _random_cluster_id()
            subprocess.run(
                self._java(
                    jars,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(config),
                    heap="256m",
                ),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        self.port = port
        self.bootstrap = f"{self.host}:{port}"
        return self._java(jars, "kafka.Kafka", str(config), heap=self.heap)

    def start(self) -> ApacheKafkaProcess:
        argv = self.prepare()
        with open(self.work_dir / "stdout.log", "ab") as out:
            self.proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Until the broker answers ApiVersions and Metadata lists it as a live broker."""
        from conformance.wire import ConnectionClosed, WireClient
        from kpy.protocol.messages.metadata import MetadataRequest

        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"Kafka exited with {self.proc.returncode}: {self.tail_log()}")
            try:
                with WireClient(self.bootstrap, timeout=5) as c:
                    resp = c.send(MetadataRequest(topics=[]), 12)
                if resp.brokers and resp.controller_id >= 0:
                    return
            except (OSError, ConnectionClosed):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"Kafka did not become ready: {self.tail_log()}")
            time.sleep(0.2)

    def tail_log(self, lines: int = 30) -> str:
        text = []
        for name in ("stdout.log", "server.log"):
            try:
                text += (self.work_dir / name).read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                pass
        return "\n".join(text)

    def __enter__(self) -> ApacheKafkaProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _random_cluster_id() -> str:
    """A cluster id as kafka-storage random-uuid prints it: 16 random bytes, URL-safe base64.

    Like Kafka's Uuid.randomUuid, never one that starts with "-": the storage tool's argument
    parser would take it for an option (one id in 64 did, and the format step failed).
    """
    import base64

    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.reference",
        description=f"Run Apache Kafka {KAFKA_VERSION} (single KRaft node) in the foreground.",
    )
    parser.add_argument("--port", type=int, default=19092)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--dir", help="work directory (default: a new temporary one)")
    args = parser.parse_args(argv)
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="kafka-reference-"))
    kafka = ApacheKafkaProcess(work, host=args.host, port=args.port)
    # A SIGTERM (kill, a supervisor) stops the JVM too, as Ctrl-C does, instead of orphaning it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started = time.monotonic()
    try:
        kafka.start()
        print(
            f"Apache Kafka {KAFKA_VERSION} ready: bootstrap={kafka.bootstrap} dir={work} "
            f"({(time.monotonic() - started) * 1000:.0f} ms); Ctrl-C stops it",
            flush=True,
        )
        assert kafka.proc is not None
        kafka.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        kafka.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
