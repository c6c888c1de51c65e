"""Kafka's Java side against a broker: the 4.4 jars, Kafka's command-line tools run as its
scripts run them (``java -cp <jars>/* <main class>``, the JVM options of ``kpy.kafka_tool``),
and the small client programs of ``tests/java/``.

The jars come from ``conformance.reference.ensure_jars`` (``make kafka-jars`` fetches them
before the tests). Once per run, shared by the xdist workers (the first to take the lock does
it), the programs are compiled into a jar and a class-data-sharing archive of the client
classes is dumped (``Warmup.java``); every JVM here then maps the archive instead of loading
and verifying those classes again, which roughly halves the CPU time of a tool's start-up and
changes nothing else. Without Java (or Maven for the jars) the tests skip, except in CI,
where they fail.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kpy import kafka_tool

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "tests" / "java"


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (needed in CI)")
    pytest.skip(what)


def kafka_jars() -> Path:
    """The directory of Kafka 4.4's jars; skips (fails in CI) without Java or the jars."""
    if shutil.which("java") is None:
        _missing("Kafka's tools need Java")
    from conformance.reference import ensure_jars

    try:
        return ensure_jars()
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        _missing(f"Kafka's jars are not available: {exc}")
        raise  # not reached


class Jvm:
    """Runs Kafka's tools (through ``kpy.kafka_tool.command``, as ``kpy kafka-tool`` does) and
    the test programs, with the class archive when there is one."""

    def __init__(self, jars: Path, programs: Path, archive: Path | None) -> None:
        self.jars = jars
        self.programs = programs
        # JVM warnings (a stale archive, say) go to stderr, never into a tool's output.
        options = ["-Xlog:disable", "-Xlog:all=warning:stderr"]
        if archive is not None:
            options.append(f"-XX:SharedArchiveFile={archive}")
        self.env = dict(os.environ, KAFKA_OPTS=" ".join(options))

    def _run(
        self, argv: list[str], input: str | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def tool(
        self,
        name: str,
        *args: str,
        input: str | None = None,
        timeout: float = 90,
        ok: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Kafka's bin/``name``.sh; with ``ok`` its exit code must be 0."""
        argv = kafka_tool.command(name, list(args), jars=self.jars, env=self.env)
        out = self._run(argv, input, timeout)
        if ok:
            assert out.returncode == 0, (
                f"{name} {' '.join(args)}: {out.stdout}\n{out.stderr[-3000:]}"
            )
        return out

    def program(self, main: str, *args: str, timeout: float = 120) -> list[dict]:
        """The JSON lines a program of tests/java/ printed; its exit code must be 0."""
        # The tools' command line with the programs' jar after Kafka's (the archive was
        # dumped with Kafka's jars alone, so it still applies).
        argv = kafka_tool.jvm_command(self.jars, self.env)
        argv[-1] += f":{self.programs}"
        out = self._run([*argv, main, *args], None, timeout)
        assert out.returncode == 0, f"{main}: {out.stdout}\n{out.stderr[-3000:]}"
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def _sources_hash(jars: Path) -> str:
    digest = hashlib.sha256(str(jars).encode())
    for path in sorted(SOURCES.glob("*.java")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def prepare(jars: Path, shared_dir: Path) -> Jvm:
    """The programs compiled into ``shared_dir``/java-<hash>/programs.jar and the class
    archive beside them, once for all workers."""
    if shutil.which("javac") is None or shutil.which("jar") is None:
        _missing("the Java programs need a JDK (javac, jar)")
    target = shared_dir / f"java-{_sources_hash(jars)}"
    programs, archive = target / "programs.jar", target / "clients.jsa"
    with open(shared_dir / "java-prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".done").exists():
            shutil.rmtree(target, ignore_errors=True)
            classes = target / "classes"
            sources = [str(p) for p in sorted(SOURCES.glob("*.java"))]
            javac = ["javac", "-Xlint:-removal", "-d", str(classes), "-cp", f"{jars}/*"]
            subprocess.run([*javac, *sources], check=True, capture_output=True, timeout=180)
            jar = ["jar", "cf", str(programs), "-C", str(classes), "."]
            subprocess.run(jar, check=True, capture_output=True, timeout=60)
            # Warmup.java run as a source file: the class path is Kafka's jars alone, as a
            # tool's is, so that every JVM here can map the archive.
            dump = Jvm(jars, programs, None)
            dump.env["KAFKA_OPTS"] += f" -XX:ArchiveClassesAtExit={archive}"
            argv = kafka_tool.jvm_command(jars, dump.env)
            tools = sorted(set(kafka_tool.TOOLS.values()))
            dump._run([*argv, str(SOURCES / "Warmup.java"), *tools], None, 180)
            (target / ".done").touch()
    # A JVM that cannot dump or map archives runs the same, only slower.
    return Jvm(jars, programs, archive if archive.exists() else None)


def shared_jvm(tmp_path_factory: pytest.TempPathFactory) -> Jvm:
    """``prepare`` in the run's temporary directory (shared by the xdist workers)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    return prepare(kafka_jars(), shared)


def events(lines: list[dict]) -> dict[str, dict]:
    """The program's lines by their "event" (the last one of each name)."""
    return {line["event"]: line for line in lines}
