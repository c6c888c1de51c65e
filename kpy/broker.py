"""The Broker: sole owner of the cluster metadata, the logs and the coordinators.

Handlers reach shared state only through the Broker. It also owns the wake-up mechanism of
fetch long-polls: an append to a partition sets the events of the fetches waiting on it,
so a waiting fetch never polls.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import trio

from kpy.metadata import ClusterMetadata
from kpy.storage.manager import LogManager

if TYPE_CHECKING:
    from kpy.config import Config

log = logging.getLogger("kpy.broker")

TopicPartition = tuple[str, int]


class Broker:
    def __init__(self, config: Config, *, clock=time.time) -> None:
        self.config = config
        self.clock = clock
        self.node_id: int = config.node_id()
        self.metadata = ClusterMetadata(config)
        self.logs: LogManager = self.metadata.log_manager
        self.bound_listeners: list[tuple[str, str, int]] = []
        self._waiters: dict[TopicPartition, set[trio.Event]] = defaultdict(set)
        self._connections = 0
        self._background: list[Any] = []  # async callables run for the broker's lifetime
        self._closers: list[Any] = []  # async callables run at shutdown, last added first
        self.started_at = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Open the data directory: metadata, logs (with recovery), then coordinators."""
        await trio.to_thread.run_sync(self.metadata.load)
        for component in self._components():
            load = getattr(component, "load", None)
            if load is not None:
                await load()

    def _components(self) -> list[Any]:
        return [c for c in (getattr(self, n, None) for n in ("producer_ids", "groups", "txns")) if c]

    def add_background(self, fn: Any) -> None:
        self._background.append(fn)

    def add_closer(self, fn: Any) -> None:
        self._closers.append(fn)

    async def run_background(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._log_housekeeping)
            for fn in self._background:
                nursery.start_soon(fn)

    async def _log_housekeeping(self) -> None:
        """Retention and time-based flushes, off the request path."""
        interval = self.config.get("log.retention.check.interval.ms") / 1000
        flush_check = min(interval, 1.0)
        next_retention = trio.current_time() + interval
        while True:
            await trio.sleep(flush_check)
            now_ms = int(self.clock() * 1000)
            await trio.to_thread.run_sync(self.logs.flush_if_needed, now_ms)
            if trio.current_time() >= next_retention:
                next_retention = trio.current_time() + interval
                await trio.to_thread.run_sync(self.logs.apply_retention, now_ms)

    async def close(self) -> None:
        for fn in reversed(self._closers):
            try:
                await fn()
            except Exception:
                log.exception("error during shutdown")
        await trio.to_thread.run_sync(self.metadata.close)

    # -- connections and listeners -------------------------------------------------------------

    def admit_connection(self) -> bool:
        limit = self.config.get("max.connections")
        if limit and self._connections >= limit:
            return False
        self._connections += 1
        return True

    def release_connection(self) -> None:
        self._connections -= 1

    def set_bound_listeners(self, bound: list[tuple[str, str, int]]) -> None:
        self.bound_listeners = bound

    def advertised(self, listener: str) -> tuple[str, int]:
        """The host and port clients on ``listener`` are told to use for this broker."""
        ports = {name: port for name, _, port in self.bound_listeners}
        for adv in self.config.advertised_listeners():
            if adv.name == listener:
                port = adv.port or ports.get(listener, 0)
                return adv.host or "localhost", port
        for name, host, port in self.bound_listeners:
            if name == listener:
                return host or "localhost", port
        name, host, port = self.bound_listeners[0]
        return host or "localhost", port

    # -- fetch wake-ups ----------------------------------------------------------------------

    def notify_append(self, tp: TopicPartition) -> None:
        waiters = self._waiters.pop(tp, None)
        if waiters:
            for event in waiters:
                event.set()

    async def wait_for_append(self, partitions: list[TopicPartition], timeout_s: float) -> None:
        """Return when any of ``partitions`` gets an append, or after ``timeout_s``."""
        event = trio.Event()
        for tp in partitions:
            self._waiters[tp].add(event)
        try:
            with trio.move_on_after(timeout_s):
                await event.wait()
        finally:
            for tp in partitions:
                waiters = self._waiters.get(tp)
                if waiters is not None:
                    waiters.discard(event)
                    if not waiters:
                        del self._waiters[tp]

    def statistics(self) -> dict[str, Any]:
        return {
            "connections": self._connections,
            "fetch_waiters": sum(len(w) for w in self._waiters.values()),
            "uptime_s": time.monotonic() - self.started_at,
        }
