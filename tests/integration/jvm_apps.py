"""Kafka's Java applications (Kafka Streams programs, Kafka Connect workers) in child JVMs, run
from the reference's jars (``conformance.reference.ensure_jars``) against kpy and Apache Kafka.

Without Java (or Maven for the jars) the tests that need them skip, except in CI, where they
fail. ``compile_java`` compiles tests/java sources once per pytest run, shared by the xdist
workers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from conformance.reference import LOG4J2, ensure_jars

ROOT = Path(__file__).resolve().parents[2]
JAVA_SOURCES = ROOT / "tests" / "java"


def kafka_jars() -> Path:
    """The directory of Kafka's jars; skips (fails in CI) without Java or Maven."""
    missing = [tool for tool in ("java", "javac") if shutil.which(tool) is None]
    if not missing:
        try:
            return ensure_jars()
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            missing = [f"Kafka's jars ({exc})"]
    if os.environ.get("CI"):
        pytest.fail(f"{', '.join(missing)} missing; CI must run the Kafka Streams/Connect tests")
    pytest.skip(f"{', '.join(missing)} missing")


def compile_java(tmp_path_factory: pytest.TempPathFactory, sources: Sequence[Path]) -> Path:
    """A class directory holding ``sources`` compiled against Kafka's jars, once per run: the
    xdist workers share the run's temp root, and the first to finish renames its build into
    place (a directory named by the sources' hash); the others use it."""
    jars = kafka_jars()
    digest = hashlib.sha256(str(jars).encode())
    for source in sources:
        digest.update(source.read_bytes())
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    target = root / f"javac-{digest.hexdigest()[:16]}"
    if target.is_dir():
        return target
    build = Path(tempfile.mkdtemp(prefix="javac-", dir=root))
    out = subprocess.run(
        ["javac", "-cp", f"{jars}/*", "-d", str(build), *map(str, sources)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    try:
        build.rename(target)
    except OSError:  # another worker got there first
        shutil.rmtree(build, ignore_errors=True)
    return target


class JavaApp:
    """One JVM running ``main_class`` with Kafka's jars (and ``classes``) on its class path.

    Its stdout lines are collected in ``lines`` as they come; its log (log4j2, INFO) goes to
    ``<work_dir>/<name>.log`` and stderr to ``<name>.stderr``.
    """

    def __init__(
        self,
        work_dir: Path,
        name: str,
        main_class: str,
        args: Sequence[str],
        *,
        classes: Path | None = None,
        heap: str = "256m",
    ) -> None:
        jars = kafka_jars()
        self.work_dir = work_dir
        self.name = name
        self.log_path = work_dir / f"{name}.log"
        log4j = work_dir / f"{name}.log4j2.properties"
        log4j.write_text(LOG4J2.format(log=self.log_path))
        classpath = f"{jars}/*" + (f":{classes}" if classes else "")
        self.argv = [
            "java",
            f"-Xmx{heap}",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",  # short-lived: the C1 compiler alone starts faster
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            classpath,
            main_class,
            *args,
        ]
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> JavaApp:
        self.lines = []
        with open(self.work_dir / f"{self.name}.stderr", "a") as err:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                text=True,
                cwd=self.work_dir,
            )
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, wanted: str, timeout: float = 90.0) -> str:
        """The first stdout line starting with ``wanted``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if line.startswith(wanted):
                    return line
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode} before {wanted!r}: "
                    f"{self.lines}\n{self.tail_log()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {wanted!r} from {self.name}: {self.tail_log()}")
            time.sleep(0.05)

    def tail_log(self, lines: int = 40) -> str:
        text = []
        for path in (self.log_path, self.work_dir / f"{self.name}.stderr"):
            if path.exists():
                text += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(text)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no clean close of clients or transactions."""
        self._end(signal.SIGKILL)

    def stop(self) -> int:
        """SIGTERM: the JVM's shutdown hooks close the application; its exit code."""
        return self._end(signal.SIGTERM)

    def _end(self, sig: int) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._reader is not None:
            self._reader.join(10)
        return self.proc.returncode

    def __enter__(self) -> JavaApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
