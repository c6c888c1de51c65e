"""Kafka's Java side against a broker: Kafka's command-line tools run as its scripts run them
(``java -cp <jars>/* <main class>``, ``kpy.kafka_tool``'s command line) and the small client
programs of ``tests/java/*.java``, from the reference's jars (``jvm_apps.kafka_jars``).

Once per run, shared by the xdist workers (the first to take the lock does it), a
class-data-sharing archive of Kafka's client classes is dumped (``Warmup.java``); every JVM
here then maps the archive instead of loading and verifying those classes again, which about
halves the CPU time of a tool's start-up and changes nothing else.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from pathlib import Path

import pytest

from kpy import kafka_tool
from tests.integration.jvm_apps import JAVA_SOURCES, compile_java, kafka_jars


class Jvm:
    """Runs Kafka's tools (through ``kpy.kafka_tool.command``, as ``kpy kafka-tool`` does) and
    the test programs, with the class archive when there is one."""

    def __init__(self, jars: Path, classes: Path, archive: Path | None) -> None:
        self.jars = jars
        self.classes = classes
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
        # The tools' command line with the programs' classes after Kafka's jars (the
        # archive was dumped with Kafka's jars alone, so it still applies).
        argv = kafka_tool.jvm_command(self.jars, self.env)
        argv[-1] += f":{self.classes}"
        out = self._run([*argv, main, *args], None, timeout)
        assert out.returncode == 0, f"{main}: {out.stdout}\n{out.stderr[-3000:]}"
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def shared_jvm(tmp_path_factory: pytest.TempPathFactory) -> Jvm:
    """The programs compiled (``jvm_apps.compile_java``) and the class archive dumped, once
    for the run's workers (the first to take the lock does both; the others wait)."""
    jars = kafka_jars()
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    with open(root / "kafka-java.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        classes = compile_java(tmp_path_factory, sorted(JAVA_SOURCES.glob("*.java")))
        archive = classes.with_name(classes.name + ".jsa")
        if not archive.exists():
            # Warmup.java run as a source file: Kafka's jars alone are the class path, as a
            # tool's are, so every JVM here can map the archive (the programs' classes come
            # after them on their class path).
            dump = Jvm(jars, classes, None)
            dump.env["KAFKA_OPTS"] += f" -XX:ArchiveClassesAtExit={archive}"
            argv = kafka_tool.jvm_command(jars, dump.env)
            tools = sorted(set(kafka_tool.TOOLS.values()))
            dump._run([*argv, str(JAVA_SOURCES / "Warmup.java"), *tools], None, 180)
    # A JVM that cannot dump or map archives runs the same, only slower.
    return Jvm(jars, classes, archive if archive.exists() else None)


def events(lines: list[dict]) -> dict[str, dict]:
    """The program's lines by their "event" (the last one of each name)."""
    return {line["event"]: line for line in lines}
