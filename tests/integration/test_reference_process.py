"""`python -m conformance.reference` (what `make kafka` runs) stops its JVM on SIGTERM as on
Ctrl-C: a killed wrapper left Apache Kafka running, holding its ports and 768 MiB."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.reference import free_port
from tests.integration.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.mark.timeout(120)
@pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("CI"), reason="no java")
def test_sigterm_stops_the_jvm(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.reference", "--port", str(free_port())],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    jvms: list[int] = []
    try:
        assert "ready" in proc.stdout.readline()
        jvms = children(proc.pid)
        assert jvms, "the JVM runs as the wrapper's child"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        wait_for(lambda: not any(alive(pid) for pid in jvms), timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in jvms:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
