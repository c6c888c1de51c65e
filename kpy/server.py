"""The broker process: listeners, background tasks, readiness and a bounded shutdown.

``serve`` binds every listener (port 0 allowed), loads the broker state from disk, reports
readiness with ``task_status.started(ServerInfo)`` and serves until cancelled. ``run`` wraps it
for the command line: signals, the ready line and an exit code.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from kpy.broker import Broker
from kpy.connection import Connection, reap_idle

if TYPE_CHECKING:
    from kpy.config import Config

log = logging.getLogger("kpy.server")

SHUTDOWN_GRACE_S = 1.0


@dataclass(slots=True)
class ServerInfo:
    """Where the broker listens: (listener name, host, port) with real ports."""

    listeners: list[tuple[str, str, int]]
    data_dirs: list[str]

    @property
    def bootstrap(self) -> str:
        _, host, port = self.listeners[0]
        return f"{host}:{port}"


async def serve(config: Config, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Run a broker until cancelled; readiness is reported once every listener is bound."""
    from kpy.dispatch import load_handlers

    load_handlers()  # import every handler now, not on the first request
    broker = Broker(config)
    await broker.load()
    try:
        async with trio.open_nursery() as nursery:
            bound: list[tuple[str, str, int]] = []
            connections: set[Connection] = set()
            for listener in config.listeners():
                tcp = await trio.open_tcp_listeners(listener.port, host=listener.host or None)
                port = tcp[0].socket.getsockname()[1]
                bound.append((listener.name, listener.host, port))
                nursery.start_soon(_accept_loop, tcp, broker, listener.name, connections)
            broker.set_bound_listeners(bound)
            nursery.start_soon(
                reap_idle, connections, lambda: broker.config.get("connections.max.idle.ms")
            )
            nursery.start_soon(broker.run_background)
            task_status.started(ServerInfo(bound, list(config.log_dirs())))
            log.info(
                "kpy %s serving on %s",
                broker.node_id,
                ", ".join(f"{n}://{h}:{p}" for n, h, p in bound),
            )
    finally:
        with trio.CancelScope(shield=True):
            with trio.move_on_after(SHUTDOWN_GRACE_S * 5):
                await broker.close()


async def _accept_loop(
    listeners: list[trio.SocketListener], broker: Broker, name: str, connections: set[Connection]
) -> None:
    async def handle(stream: trio.SocketStream) -> None:
        if not broker.admit_connection():
            log.warning("max.connections reached, refusing a connection on %s", name)
            await stream.aclose()
            return
        conn = Connection(stream, broker, name)
        connections.add(conn)
        try:
            await conn.serve()
        finally:
            connections.discard(conn)
            broker.release_connection()

    await trio.serve_listeners(handle, listeners)


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


def run(config: Config) -> int:
    """Serve until SIGINT/SIGTERM, printing one ready line; return the process exit code."""
    started = time.monotonic()
    raise_open_file_limit()

    async def main() -> None:
        # Signals are caught before the ready line, so a SIGTERM right after it is clean.
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                info: ServerInfo = await nursery.start(serve, config)
                print(
                    f"kpy ready: bootstrap={info.bootstrap} data={','.join(info.data_dirs)} "
                    f"({(time.monotonic() - started) * 1000:.0f} ms)",
                    flush=True,
                )
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
