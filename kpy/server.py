"""The broker process: listeners, background tasks, readiness and a bounded shutdown.

``serve`` binds every listener (port 0 allowed), the ``http.listeners`` too, locks the log
dirs, loads the broker state from disk, starts the HTTP server (kpy.http, when configured),
reports readiness with ``task_status.started(ServerInfo)`` and serves until cancelled. ``run``
wraps it for the command line: signals, the ready line and an exit code.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import trio

import kpy
from kpy.broker import Broker
from kpy.connection import Connection, reap_idle
from kpy.http.sockets import url
from kpy.log_limiter import LogLimiter, flush_forever
from kpy.storage.dir_lock import LogDirError, lock_log_dirs, release_all

if TYPE_CHECKING:
    from kpy.config import Config

log = logging.getLogger("kpy.server")

SHUTDOWN_GRACE_S = 1.0
_refusals = LogLimiter(log)  # connections refused at accept, repeats held back


@dataclass(slots=True)
class ServerInfo:
    """Where the broker listens: (listener name, host, port) with real ports, and the address
    advertised to clients of the first listener."""

    listeners: list[tuple[str, str, int]]
    data_dirs: list[str]
    advertised: tuple[str, int]
    # The running broker, for whoever embeds it (kpy.testing's in-process harness, statistics).
    broker: Broker | None = field(default=None, repr=False, compare=False)
    # URLs of the HTTP server (http.listeners, real ports), empty when it is off.
    http: list[str] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        """host:port a client should bootstrap from (the first listener, as advertised)."""
        return _host_port(*self.advertised)

    @property
    def listening(self) -> str:
        """host:port of the first listener's socket ("*" for every interface)."""
        _, host, port = self.listeners[0]
        return _host_port(host or "*", port)


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class StartupError(Exception):
    """The broker cannot start (a port in use, an unusable or locked log dir); the message is
    one line naming the port or the directory."""


async def serve(config: Config, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Run a broker until cancelled; readiness is reported once every listener is bound.

    Before any file of the data dirs is read, the listeners are bound and every log dir is
    locked (storage/dir_lock.py), so a second broker on the same port or the same directory
    raises ``StartupError`` without touching the first one's files."""
    bound, tcp_listeners = await _bind_listeners(config)
    http_sockets: list[socket.socket] = []
    try:
        http_sockets = _bind_http(config)
        try:
            locks = lock_log_dirs(config.log_dirs())
        except LogDirError as exc:
            raise StartupError(str(exc)) from None
        try:
            await _serve_bound(config, bound, tcp_listeners, http_sockets, task_status)
        finally:
            release_all(locks)
    finally:
        for tcp in tcp_listeners:
            for listener in tcp:
                listener.socket.close()  # serve_listeners closes them too; closing is idempotent
        for sock in http_sockets:
            sock.close()


def _bind_http(config: Config) -> list[socket.socket]:
    """The ``http.listeners`` sockets, bound (none when HTTP is off), or ``StartupError``."""
    addresses = config.http_listeners()
    if not addresses:
        return []
    from kpy.http.sockets import bind  # the HTTP stack loads after start-up (_serve_http)

    try:
        return bind(addresses)
    except OSError as exc:
        raise StartupError(
            f"HTTP server failed to bind to {exc.filename}: {exc.strerror or exc} (http.listeners)"
        ) from None


async def _bind_listeners(
    config: Config,
) -> tuple[list[tuple[str, str, int]], list[list[trio.SocketListener]]]:
    """Bind every listener; (name, host, real port) and the sockets of each, or
    ``StartupError`` naming the address that failed (nothing stays bound then)."""
    bound: list[tuple[str, str, int]] = []
    opened: list[list[trio.SocketListener]] = []
    try:
        for listener in config.listeners():
            try:
                tcp = await trio.open_tcp_listeners(listener.port, host=listener.host or None)
            except OSError as exc:
                host = listener.host or "0.0.0.0"
                raise StartupError(
                    f"Socket server failed to bind to {host}:{listener.port}: "
                    f"{exc.strerror or exc} (listener {listener.name})"
                ) from None
            opened.append(tcp)
            bound.append((listener.name, listener.host, tcp[0].socket.getsockname()[1]))
    except BaseException:
        for tcp in opened:
            for sock in tcp:
                sock.socket.close()
        raise
    return bound, opened


async def _serve_bound(
    config: Config,
    bound: list[tuple[str, str, int]],
    tcp_listeners: list[list[trio.SocketListener]],
    http_sockets: list[socket.socket],
    task_status,
) -> None:
    broker = Broker(config)
    await broker.load()
    try:
        async with trio.open_nursery() as nursery:
            for (name, _, _), tcp in zip(bound, tcp_listeners, strict=True):
                nursery.start_soon(_accept_loop, tcp, broker, name)
            broker.set_bound_listeners(bound)
            nursery.start_soon(
                reap_idle, broker.connections, lambda: broker.config.get("connections.max.idle.ms")
            )
            nursery.start_soon(broker.run_background)
            nursery.start_soon(flush_forever)  # held-back repeats of log lines
            advertised = broker.advertised(bound[0][0])
            info = ServerInfo(bound, list(config.log_dirs()), advertised, broker)
            if http_sockets:
                # Served once Kafka clients are: importing the HTTP stack takes ~0.2 s, and an
                # HTTP request meanwhile waits in the socket's backlog.
                info.http = [url(s) for s in http_sockets]
                nursery.start_soon(_serve_http, broker, info, http_sockets)
            task_status.started(info)
            log.info(
                "kpy %s serving on %s",
                broker.node_id,
                ", ".join([*(f"{n}://{h}:{p}" for n, h, p in bound), *info.http]),
            )
    finally:
        with trio.CancelScope(shield=True):
            with trio.move_on_after(SHUTDOWN_GRACE_S * 5):
                await broker.close()


async def _serve_http(broker: Broker, info: ServerInfo, sockets: list[socket.socket]) -> None:
    from kpy.http.app import HttpContext, build_app
    from kpy.http.server import serve_http

    http = HttpContext(broker, info)
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_http, build_app(http), sockets)
        http.ready = True


async def _accept_loop(listeners: list[trio.SocketListener], broker: Broker, name: str) -> None:
    async def handle(stream: trio.SocketStream) -> None:
        if not broker.admit_connection():
            _refusals.log(
                logging.INFO,
                ("max.connections", _peer_host(stream)),
                "refused a connection from %s on %s: max.connections=%d reached",
                _peer(stream),
                name,
                broker.config.get("max.connections"),
            )
            await stream.aclose()
            return
        conn = Connection(stream, broker, name)
        broker.connections.add(conn)
        try:
            await conn.serve()
        finally:
            broker.connections.discard(conn)
            broker.release_connection()

    await trio.serve_listeners(handle, listeners)


def ready_line(info: ServerInfo, seconds: float) -> str:
    """What ``kpy serve`` prints once it accepts connections: the bootstrap address clients
    should use, where it listens when that differs, the HTTP server's URLs when it is on, the
    data dirs and the start-up time."""
    parts = [f"kpy ready: bootstrap={info.bootstrap}"]
    if info.listening != info.bootstrap:
        parts.append(f"listening={info.listening}")
    if info.http:
        parts.append(f"http={','.join(info.http)}")
    parts.append(f"data={','.join(info.data_dirs)} (started in {seconds * 1000:.0f} ms)")
    return " ".join(parts)


def _peer(stream: trio.SocketStream) -> str:
    try:
        host, port = stream.socket.getpeername()[:2]
    except OSError:
        return "unknown"
    return _host_port(str(host), port)


def _peer_host(stream: trio.SocketStream) -> str:
    return _peer(stream).rpartition(":")[0]


def raise_open_file_limit() -> None:
    """Every partition keeps its active segment open, as Kafka does: allow as many open
    files as the system lets this process have."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError) as exc:
        log.warning("could not raise the open file limit: %s", exc)


def startup_seconds() -> float:
    """Seconds since this process started: on Linux from the kernel's record of the process
    start (fork) to within a clock tick; elsewhere, or when that reading is implausible
    (kpy imported long after the process started, as when embedded), since kpy was imported."""
    since_import = time.monotonic() - kpy.IMPORTED_AT
    age = _process_age()
    if age is None or not since_import - 0.1 <= age <= since_import + 60:
        return since_import
    return age


def _process_age() -> float | None:
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        # Field 22 is the start time in clock ticks since boot. The command name (field 2)
        # may hold spaces and parentheses, so fields are counted after its closing ")".
        start_ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
        tick = 1 / os.sysconf("SC_CLK_TCK")
        now = time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    # The kernel truncates the start time to a whole tick: half a tick is the unbiased guess.
    return now - (start_ticks + 0.5) * tick


def run(config: Config) -> int:
    """Serve until SIGINT/SIGTERM, printing one ready line; return the process exit code."""
    raise_open_file_limit()

    async def main() -> None:
        # Signals are caught before the ready line, so a SIGTERM right after it is clean.
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                info: ServerInfo = await nursery.start(serve, config)
                print(ready_line(info, startup_seconds()), flush=True)
                async for signum in signals:
                    log.info("received %s, shutting down", signal.Signals(signum).name)
                    nursery.cancel_scope.cancel()
                    break

    try:
        trio.run(main)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"kpy: cannot start: {exc}", file=sys.stderr)
        return 1
    log.info("kpy stopped")
    return 0
