"""kpy brokers for test suites (kpy's own and its users'): in a child process or in process.

A child process, for tests that crash, restart or signal the broker:

    with BrokerProcess(tmp_path) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap})

The broker listens on an ephemeral port; ``bootstrap`` (where to connect) is known once the
ready line is read, and so is ``http``, the HTTP server's URL, when ``http.listeners`` is set
(``overrides={"http.listeners": "http://127.0.0.1:0"}``; BrokerThread has both too).
``kill()`` sends SIGKILL (a crash), ``stop()`` SIGTERM (a clean shutdown), ``restart()``
starts it again on the same data directory and port.

In process, for unit tests of the request path (``kpy.server.serve`` in the caller's trio
run, on 127.0.0.1 port 0, cancelled at exit):

    async with in_process_broker(tmp_path, num_partitions=3) as b:
        async with b.connect() as client:
            answer = await client.send(MetadataRequest(topics=None), 12)
        b.broker.statistics()

``RawClient`` sends generated request objects framed by ``kpy.protocol.framing``; ``wait_until``
waits for a condition with a deadline in real time. ``BrokerThread`` runs the same broker in
a thread of its own for synchronous tests and real clients.

Time. The broker's deadlines (group sessions, rebalances, consumer-group revocations, fetch
waits) follow trio's clock; record timestamps, and what the periodic checks of transaction
timeouts, transactional-id expiry and offset retention compare, follow the wall clock
(``Broker.clock``), which a MockClock does not move. Under
``trio.testing.MockClock(rate=1)`` time passes as usual and ``clock.jump(s)`` moves it forward
at once, so a test expires a 6 s session in no time; ``MockClock()`` (rate 0) freezes it
between jumps, which also holds the broker's housekeeping loops still. Autojump
(``autojump_threshold``) does not mix with real sockets: while a request is on the wire or in a
worker thread every task is blocked, so the clock leaps to the next deadline and timers fire
that no client caused. ``wait_until`` polls in real time, so it works under any of these.
"""

from __future__ import annotations

import inspect
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from kpy.protocol import api_keys, framing

if TYPE_CHECKING:
    from kpy.broker import Broker
    from kpy.config import Config
    from kpy.server import ServerInfo

T = TypeVar("T")

# What tests want from a broker besides Kafka's defaults: no wait before a first rebalance and
# few internal-topic partitions (each is a log to create).
TEST_SETTINGS: dict[str, object] = {
    "group.initial.rebalance.delay.ms": 0,
    "offsets.topic.num.partitions": 3,
    "transaction.state.log.num.partitions": 3,
}

_READY = re.compile(r"kpy ready: bootstrap=(\S+)(?: listening=(\S+))?(?: http=(\S+))?")


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
        self.http = ""  # the first http.listeners URL (real port) when HTTP is on
        self.output: list[str] = []

    def command(self) -> list[str]:
        settings = {
            "listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "log.dirs": str(self.data_dir),
            **TEST_SETTINGS,
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
        try:
            return self._wait_ready()
        except BaseException:
            # Not ready (a timeout, an early exit, or the test run interrupted by Ctrl-C): a
            # child left behind would outlive the tests, holding its port and data dir.
            self.kill()
            raise

    def _wait_ready(self) -> BrokerProcess:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        fd = self.proc.stdout.fileno()
        pending = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
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
                    self.http = (match.group(3) or "").split(",")[0]
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


# -- in process --------------------------------------------------------------------------------


def broker_config(
    data_dir: str | os.PathLike[str],
    overrides: dict[str, object] | None = None,
    **settings: object,
) -> Config:
    """A Config for a test broker on 127.0.0.1 port 0 with its data in ``data_dir``:
    TEST_SETTINGS, then ``settings`` (Kafka's dotted names written with underscores:
    ``num_partitions=3``), then ``overrides`` (dotted names as they are)."""
    from kpy.config import Config

    values: dict[str, object] = {
        "listeners": "PLAINTEXT://127.0.0.1:0",
        "log.dirs": str(data_dir),
        **TEST_SETTINGS,
    }
    values.update({name.replace("_", "."): value for name, value in settings.items()})
    values.update(overrides or {})
    return Config(values)


@dataclass(slots=True)
class InProcessBroker:
    """A broker served in the current trio run: where it listens and the Broker itself."""

    info: ServerInfo
    broker: Broker

    @property
    def bootstrap(self) -> str:
        """Where to connect: the first listener's socket (which advertised.listeners may
        name otherwise)."""
        return self.info.listening

    def connect(self, client_id: str = "kpy-test") -> _Connecting:
        """``async with b.connect() as client``: a RawClient to this broker."""
        return _Connecting(self.bootstrap, client_id)


@asynccontextmanager
async def in_process_broker(
    data_dir: str | os.PathLike[str],
    overrides: dict[str, object] | None = None,
    **settings: object,
) -> AsyncIterator[InProcessBroker]:
    """Serve a broker (``kpy.server.serve``) in a nursery of the caller's trio run until the
    block exits; it is ready (listening, data loaded) when the block starts. An error in the
    broker's tasks cancels the block and is raised. Settings as ``broker_config``."""
    from kpy.server import serve

    config = broker_config(data_dir, overrides, **settings)
    try:
        async with trio.open_nursery() as nursery:
            info: ServerInfo = await nursery.start(serve, config)
            assert info.broker is not None
            try:
                yield InProcessBroker(info, info.broker)
            finally:
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # One error (a failed start, or the test's own assertion): raised as itself, so that
        # ``pytest.raises`` and tracebacks see it, not a group around it.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


async def wait_until(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 10.0,
    what: str = "the condition",
    interval: float = 0.002,
) -> T:
    """Call ``predicate`` (plain or async) until it returns something truthy, and return that;
    AssertionError naming ``what`` after ``timeout`` seconds of real time. Between calls
    the task waits ``interval`` real seconds in a worker thread, so this works under a
    MockClock too (its trio clock may be frozen)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await trio.to_thread.run_sync(time.sleep, interval)


class ConnectionClosed(Exception):
    """The broker closed the connection (how Kafka answers some bad requests)."""


_KEY_OF: dict[type, int] = {}


def api_key_of(request: Any) -> int:
    """The API key of a generated request object."""
    cls = type(request)
    key = _KEY_OF.get(cls)
    if key is None:
        name = cls.__name__.removesuffix("Request")
        for info in api_keys.API_KEYS.values():
            if info.name == name:
                key = _KEY_OF[cls] = info.key
                break
        else:
            raise ValueError(f"not a request: {cls.__name__}")
    return key


def newest_version(api_key: int) -> int:
    """The newest version kpy serves of ``api_key``."""
    from kpy.handlers import HANDLERS

    return HANDLERS[api_key][2]


class RawClient:
    """A raw Kafka client on a trio socket: generated requests in, generated responses out,
    one request at a time (``send``), or raw bytes (``send_raw``, ``recv_frame``)."""

    def __init__(self, stream: trio.SocketStream, client_id: str = "kpy-test") -> None:
        self.stream = stream
        self.client_id = client_id
        self.correlation_id = 0
        self._pending = bytearray()

    @classmethod
    async def connect(cls, bootstrap: str, client_id: str = "kpy-test") -> RawClient:
        host, port = bootstrap.rsplit(":", 1)
        stream = await trio.open_tcp_stream(host.strip("[]"), int(port))
        return cls(stream, client_id)

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(
        self, request: Any, version: int | None = None, *, expect_response: bool = True
    ) -> Any:
        """Send one request (at ``version``, else the newest kpy serves) and return the decoded
        response (None if ``expect_response`` is false, as for acks=0 produce)."""
        key = api_key_of(request)
        if version is None:
            version = newest_version(key)
        self.correlation_id += 1
        corr = self.correlation_id
        await self.send_raw(framing.encode_request(key, version, corr, self.client_id, request))
        if not expect_response:
            return None
        got, response = framing.decode_response(key, version, await self.recv_frame())
        if got != corr:
            raise AssertionError(f"correlation id {got} != {corr}")
        return response

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def recv_frame(self) -> bytes:
        """The next response frame, without its size prefix; ConnectionClosed at end of stream."""
        size = int.from_bytes(await self._receive_exactly(4), "big", signed=True)
        return await self._receive_exactly(size)

    async def _receive_exactly(self, n: int) -> bytes:
        while len(self._pending) < n:
            try:
                data = await self.stream.receive_some(max(n - len(self._pending), 65536))
            except trio.BrokenResourceError as exc:  # reset by the broker
                raise ConnectionClosed("connection reset by the broker") from exc
            if not data:
                raise ConnectionClosed("connection closed by the broker")
            self._pending += data
        out = bytes(self._pending[:n])
        del self._pending[:n]
        return out

    async def is_closed(self, timeout: float = 5.0) -> bool:
        """True if the broker closes the connection within ``timeout`` seconds (trio's clock)."""
        with trio.move_on_after(timeout):
            try:
                await self._receive_exactly(len(self._pending) + 1)
            except ConnectionClosed:
                return True
        return False


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Connecting:
    def __init__(self, bootstrap: str, client_id: str) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.client: RawClient | None = None

    async def __aenter__(self) -> RawClient:
        self.client = await RawClient.connect(self.bootstrap, self.client_id)
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        assert self.client is not None
        await self.client.aclose()


class BrokerThread:
    """An in-process broker in a thread of its own, for synchronous tests and real clients:

        with BrokerThread(tmp_path) as b:
            producer = Producer({"bootstrap.servers": b.bootstrap})
            b.call(lambda: b.broker.statistics())

    ``call`` runs a function on the broker's trio thread (the Broker is not thread-safe).
    ``stop(crash=True)`` ends it as a killed process would end (``Broker.crash_on_close``: no
    flush, checkpoint or clean-shutdown marker; what was written stays in the OS's cache, as
    after a SIGKILL, not a power cut), so the next start recovers; ``restart`` starts it again
    on the same data and ports."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        overrides: dict[str, object] | None = None,
        *,
        start_timeout: float = 30.0,
        **settings: object,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.overrides = overrides
        self.settings = settings
        self.start_timeout = start_timeout
        self.bootstrap = ""
        self.http = ""  # the first http.listeners URL (real port) when HTTP is on
        self._started = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._thread: threading.Thread | None = None
        self._handle: InProcessBroker | None = None
        self._error: BaseException | None = None

    @property
    def broker(self) -> Broker:
        assert self._handle is not None, "not started"
        return self._handle.broker

    def start(self) -> BrokerThread:
        """Serve, and return once ready; a start after a stop binds the ports of the last run
        (so clients reconnect where they were)."""
        if self._thread is not None:
            raise RuntimeError("kpy is already running")
        if self._handle is not None:
            listeners = ",".join(
                f"{name}://{_host_port(host, port)}"
                for name, host, port in self._handle.info.listeners
            )
            self.overrides = {**(self.overrides or {}), "listeners": listeners}
            self._started.clear()
            self._handle = self._token = self._scope = None
        self._thread = threading.Thread(target=self._run, name="kpy-broker", daemon=True)
        self._thread.start()
        if not self._started.wait(self.start_timeout):
            raise RuntimeError(f"kpy did not start within {self.start_timeout:g}s")
        if self._error is not None:
            error, self._error = self._error, None
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"kpy failed to start: {error!r}") from error
        return self

    def _run(self) -> None:
        async def main() -> None:
            with trio.CancelScope() as scope:
                self.data_dir.mkdir(parents=True, exist_ok=True)
                async with in_process_broker(
                    self.data_dir, self.overrides, **self.settings
                ) as handle:
                    self._handle, self.bootstrap = handle, handle.bootstrap
                    self.http = handle.info.http[0] if handle.info.http else ""
                    self._token, self._scope = trio.lowlevel.current_trio_token(), scope
                    self._started.set()
                    await trio.sleep_forever()

        try:
            trio.run(main)
        except BaseException as exc:  # reported by start() or stop()
            self._error = exc
        finally:
            self._started.set()

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` run on the broker's thread, its result returned here."""
        assert self._token is not None, "not started"
        return trio.from_thread.run_sync(fn, trio_token=self._token)

    def stop(self, timeout: float = 10.0, *, crash: bool = False) -> None:
        """Cancel the broker (a clean shutdown, or with ``crash`` a killed process's) and wait
        for its thread; raises what it raised."""
        if self._thread is None:
            return
        if self._scope is None and self._thread.is_alive():
            # A start still under way (one that timed out or was interrupted): let it
            # finish, then cancel it, rather than leave a broker running on the thread.
            self._started.wait(timeout)
        if self._scope is not None and self._thread.is_alive():
            scope, handle = self._scope, self._handle

            def cancel() -> None:
                if crash and handle is not None:
                    handle.broker.crash_on_close()
                scope.cancel()

            try:
                trio.from_thread.run_sync(cancel, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"kpy did not stop within {timeout:g}s")
        self._thread = None
        if self._error is not None:
            raise RuntimeError(f"kpy failed: {self._error!r}") from self._error

    def restart(self, *, crash: bool = False) -> BrokerThread:
        """Stop (as a crash with ``crash``) and start again on the same data dir and ports."""
        self.stop(crash=crash)
        return self.start()

    def __enter__(self) -> BrokerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
