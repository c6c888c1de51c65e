"""Keyed one-shot deadlines for the coordinators: session expiry, rebalance and revocation
timeouts, the initial rebalance delay.

A deadline is scheduled under a key; scheduling the same key again replaces it, and
``cancel`` forgets it, so a member's session timer is simply rescheduled on each heartbeat
(Kafka's coordinator timer works the same way). The bookkeeping (``schedule``, ``cancel``,
``fire``) is synchronous and needs no event loop, so state machines call it directly and
unit tests drive it with plain numbers; ``run`` is the trio side: it sleeps until the
earliest deadline and fires what is due, and a new earlier deadline wakes it at once.
Nothing is polled, so a callback runs at its deadline, never a tick later.

Promises: callbacks run in deadline order (ties in scheduling order), each at most once,
with the time they fire at; a callback that raises does not stop the others: it is reported
to the ``Guard`` (logged, rate limited) and scheduled again after the guard's backoff, unless
it scheduled its key anew itself. Without a guard it is logged and dropped.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from kpy.coordinator.runtime import Guard

log = logging.getLogger("kpy.coordinator")

Callback = Callable[[float], None]


class Timers:
    def __init__(self, guard: Guard | None = None) -> None:
        self.guard = guard
        # Heap of (deadline, sequence, key); entries whose sequence no longer matches
        # ``_live[key]`` were replaced or cancelled and are skipped when they surface.
        self._heap: list[tuple[float, int, Hashable]] = []
        self._live: dict[Hashable, tuple[float, int, Callback]] = {}
        self._seq = itertools.count()
        self._wake = trio.Event()

    def statistics(self) -> dict[str, int]:
        return {"timers": len(self._live), "heap": len(self._heap)}

    def schedule(self, key: Hashable, deadline: float, callback: Callback) -> None:
        """Run ``callback(now)`` at ``deadline`` (trio clock seconds), replacing any earlier
        deadline under ``key``."""
        seq = next(self._seq)
        earliest = self.next_deadline()
        self._live[key] = (deadline, seq, callback)
        heapq.heappush(self._heap, (deadline, seq, key))
        if deadline < earliest:
            self._wake.set()
        if len(self._heap) > 64 and len(self._heap) > 4 * len(self._live):
            self._compact()

    def cancel(self, key: Hashable) -> None:
        self._live.pop(key, None)

    def deadline(self, key: Hashable) -> float | None:
        entry = self._live.get(key)
        return entry[0] if entry is not None else None

    def next_deadline(self) -> float:
        """The earliest live deadline, or +inf."""
        while self._heap:
            deadline, seq, key = self._heap[0]
            live = self._live.get(key)
            if live is not None and live[1] == seq:
                return deadline
            heapq.heappop(self._heap)
        return math.inf

    def fire(self, now: float) -> int:
        """Run every callback due at ``now``; returns how many ran."""
        ran = 0
        while self.next_deadline() <= now:
            _, _, key = heapq.heappop(self._heap)
            _, _, callback = self._live.pop(key)
            ran += 1
            try:
                callback(now)
            except Exception as exc:
                if self.guard is None:
                    log.exception("timer %r failed", key)
                elif key not in self._live:
                    kind = key[0] if isinstance(key, tuple) else key
                    self.schedule(key, now + self.guard.failed(kind, exc), callback)
            else:
                if self.guard is not None:
                    self.guard.succeeded(key[0] if isinstance(key, tuple) else key)
        return ran

    def _compact(self) -> None:
        self._heap = [(d, s, k) for k, (d, s, _) in self._live.items()]
        heapq.heapify(self._heap)

    async def run(self) -> None:
        """Fire callbacks at their deadlines, for as long as the caller's nursery lives."""
        while True:
            with trio.move_on_at(self.next_deadline()):
                await self._wake.wait()
            self._wake = trio.Event()
            self.fire(trio.current_time())
