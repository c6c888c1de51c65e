"""Kafka's Java side against a broker: the 4.4 jars, Kafka's command-line tools run as its
scripts run them (``kpy.kafka_tool``), and the small client programs in ``tests/java/``.

The jars come from ``conformance.reference.ensure_jars`` (``make kafka-jars`` fetches them
before the tests). The programs are compiled once per run into a directory named by the hash
of their sources, shared by the xdist workers (the first to take the lock compiles). Without
Java (or Maven for the jars) the tests skip, except in CI, where they fail.
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


def run_tool(
    jars: Path,
    name: str,
    *args: str,
    input: str | None = None,
    timeout: float = 90,
    ok: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run Kafka's bin/``name``.sh equivalent; with ``ok`` its exit code must be 0."""
    argv = kafka_tool.command(name, list(args), jars=jars)
    out = subprocess.run(
        argv,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if ok:
        assert out.returncode == 0, f"{name} {' '.join(args)}: {out.stdout}\n{out.stderr[-3000:]}"
    return out


def _sources_hash(jars: Path) -> str:
    digest = hashlib.sha256(str(jars).encode())
    for path in sorted(SOURCES.glob("*.java")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def compile_programs(jars: Path, shared_dir: Path) -> Path:
    """tests/java/*.java compiled into ``shared_dir``/java-<hash>, once for all workers."""
    if shutil.which("javac") is None:
        _missing("the Java programs need javac (a JDK)")
    target = shared_dir / f"java-{_sources_hash(jars)}"
    with open(shared_dir / "java-compile.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".done").exists():
            shutil.rmtree(target, ignore_errors=True)
            sources = [str(p) for p in sorted(SOURCES.glob("*.java"))]
            subprocess.run(
                ["javac", "-Xlint:-removal", "-d", str(target), "-cp", f"{jars}/*", *sources],
                check=True,
                capture_output=True,
                timeout=180,
            )
            (target / ".done").touch()
    return target


class JavaPrograms:
    """Runs a compiled program of tests/java/ with Kafka's jars on its class path."""

    def __init__(self, jars: Path, classes: Path) -> None:
        self.jars = jars
        self.classes = classes

    def run(self, main: str, *args: str, timeout: float = 120) -> list[dict]:
        """The program's JSON lines; its exit code must be 0."""
        java = kafka_tool.java_executable()
        argv = [java, *kafka_tool.JVM_OPTS, f"-Dlog4j2.configurationFile={kafka_tool.LOG4J2}"]
        argv += ["-cp", f"{self.classes}:{self.jars}/*", main, *args]
        out = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
        assert out.returncode == 0, f"{main}: {out.stdout}\n{out.stderr[-3000:]}"
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def events(lines: list[dict]) -> dict[str, dict]:
    """The program's lines by their "event" (the last one of each name)."""
    return {line["event"]: line for line in lines}
