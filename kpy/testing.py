"""A kpy broker in a child process, for test suites (kpy's own and its users').

    with BrokerProcess(tmp_path) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap})

The broker listens on an ephemeral port; ``bootstrap`` (where to connect) is known once the
ready line is read.
``kill()`` sends SIGKILL (a crash), ``stop()`` SIGTERM (a clean shutdown), ``restart()``
starts it again on the same data directory and port.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

_READY = re.compile(r"kpy ready: bootstrap=(\S+)(?: listening=(\S+))?")


class ChildProcess:
    """A server in a child process: SIGTERM to stop it (SIGKILL after ``stop_timeout``),
    SIGKILL to crash it."""

    proc: subprocess.Popen[bytes] | None = None
    stop_timeout = 10.0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()


class BrokerProcess(ChildProcess):
    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        overrides: dict[str, object] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout: float = 30.0,
        log_file: str | os.PathLike[str] | None = None,
        log_level: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.overrides = dict(overrides or {})
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self.log_level = log_level  # --log-level (DEBUG, INFO, ...); the broker's default if None
        self.log_path = (
            Path(log_file)
            if log_file
            else self.data_dir.parent / (self.data_dir.name + ".broker.log")
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.bootstrap = ""
        self.output: list[str] = []

    def command(self) -> list[str]:
        settings = {
            "listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "log.dirs": str(self.data_dir),
            "group.initial.rebalance.delay.ms": 0,
            "offsets.topic.num.partitions": 3,
            "transaction.state.log.num.partitions": 3,
        }
        settings.update(self.overrides)
        cmd = [sys.executable, "-m", "kpy", "serve"]
        if self.log_level:
            cmd += ["--log-level", self.log_level]
        for key, value in settings.items():
            cmd += ["--override", f"{key}={value}"]
        return cmd

    def start(self) -> BrokerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (owned by the child)
        self.proc = subprocess.Popen(
            self.command(), stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        assert self.proc.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        fd = self.proc.stdout.fileno()
        pending = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise RuntimeError(f"kpy did not become ready; log: {self.tail_log()}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                code = self.proc.wait()
                raise RuntimeError(f"kpy exited with {code} before ready: {self.tail_log()}")
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.decode(errors="replace")
                self.output.append(text)
                match = _READY.search(text)
                if match:
                    self._found_ready(match.group(1), match.group(2))
                    return self

    def _found_ready(self, advertised: str, listening: str | None) -> None:
        if listening is None:  # the broker is reached where it is advertised
            self.bootstrap = advertised
        else:  # advertised elsewhere (advertised.listeners): connect where it listens
            host = self.host if self.host not in ("", "0.0.0.0", "::") else "localhost"
            host = f"[{host}]" if ":" in host else host
            self.bootstrap = f"{host}:{listening.rsplit(':', 1)[1]}"
        self.port = int(self.bootstrap.rsplit(":", 1)[1])

    def tail_log(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def restart(self, *, crash: bool = False) -> BrokerProcess:
        """Kill (SIGKILL when ``crash``) and start again on the same port and data."""
        if crash:
            self.kill()
        else:
            self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> BrokerProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()
