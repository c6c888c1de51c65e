"""Log lines that clients can cause again and again, at most once per interval per key.

A client that retries a refused request (an oversized produce, say) reconnects and is refused
many times a second; a line per refusal would bury everything else. ``LogLimiter.log`` writes
a line for a key at most once per ``interval`` seconds. Repeats in between are counted, not
written: the next line of that key once the interval has passed, or ``flush`` (run every
interval by the server, see ``flush_forever``, and once more at shutdown), writes the latest
of them with "(repeated K times)", K being how many times it happened since the previous line.

Keys name the cause without what changes from one attempt to the next (the client's port,
the connection id): for a refusal, the client's address, its client id, the API and the
reason. At most ``max_keys`` keys are remembered; the oldest is dropped first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import trio

_LIMITERS: list[LogLimiter] = []  # the long-lived limiters, flushed by flush_forever


@dataclass(slots=True)
class _Seen:
    since: float  # when the last line of this key was written
    repeats: int  # occurrences since then that were not written
    level: int  # the latest of those occurrences
    msg: str
    args: tuple[Any, ...]


class LogLimiter:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = 10.0,
        max_keys: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        register: bool = True,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.max_keys = max_keys
        self.clock = clock
        self._seen: dict[Hashable, _Seen] = {}
        if register:
            _LIMITERS.append(self)

    def log(self, level: int, key: Hashable, msg: str, *args: Any, exc_info: Any = None) -> bool:
        """Write ``msg % args`` unless ``key`` was written less than ``interval`` ago; returns
        whether a line was written."""
        if not self.logger.isEnabledFor(level):
            return False
        now = self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen.since < self.interval:
            seen.repeats += 1
            seen.level, seen.msg, seen.args = level, msg, args
            return False
        if seen is None:
            if len(self._seen) >= self.max_keys:
                self._make_room()
            self._seen[key] = _Seen(now, 0, level, msg, args)
            self.logger.log(level, msg, *args, exc_info=exc_info)
            return True
        if seen.repeats:
            msg, args = msg + " (repeated %d times)", (*args, seen.repeats + 1)
        seen.since, seen.repeats = now, 0
        self.logger.log(level, msg, *args, exc_info=exc_info)
        return True

    def flush(self, *, final: bool = False) -> None:
        """Write the held-back repeats of keys whose interval has passed (of every key when
        ``final``: at shutdown, so no count is lost); forget idle keys."""
        now = self.clock()
        for key, seen in list(self._seen.items()):
            if now - seen.since < self.interval and not (final and seen.repeats):
                continue
            if seen.repeats:
                self._write_repeats(seen)
                seen.since, seen.repeats = now, 0
            else:
                del self._seen[key]

    def statistics(self) -> dict[str, Any]:
        return {
            "keys": len(self._seen),
            "held_back": sum(s.repeats for s in self._seen.values()),
        }

    def _make_room(self) -> None:
        self.flush()
        while len(self._seen) >= self.max_keys:
            oldest = next(iter(self._seen))
            seen = self._seen.pop(oldest)
            if seen.repeats:
                self._write_repeats(seen)

    def _write_repeats(self, seen: _Seen) -> None:
        self.logger.log(seen.level, seen.msg + " (repeated %d times)", *seen.args, seen.repeats)


async def flush_forever(interval: float = 10.0) -> None:
    """Flush every long-lived limiter every ``interval`` seconds (runs for the server's life),
    and every held-back repeat when cancelled (the server's shutdown)."""
    try:
        while True:
            await trio.sleep(interval)
            for limiter in _LIMITERS:
                limiter.flush()
    finally:
        for limiter in _LIMITERS:
            limiter.flush(final=True)
