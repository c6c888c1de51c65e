"""What a coordinator sees of the broker, and how its background work runs.

``CoordinatorContext`` is the whole of it: a few config values, the clock, the topics it
checks requests against, its internal topic (created off the event loop, replayed, appended
to) and, for the transaction coordinator, the markers it writes into data partitions. The
broker implements it once (``kpy.broker.CoordinatorAdapter``); unit tests implement it in
memory. No coordinator sees the Broker.

``Guard`` turns a failure of background work (a disk error while expiring offsets or
aborting a timed-out transaction, say) into a logged error and a retry after a backoff; it
never reaches the broker's nursery. Lines are rate limited (kpy/log_limiter.py), so a
failing disk logs a line a minute per kind of work, with a count, not one per retry.

``replay_internal`` reads an internal topic at start-up, including records that kpy before
the fix of ``offsets.partition_for`` wrote to another partition than Kafka's rule names;
``load_internal`` runs it and ``migrate`` off the event loop, and ``create_internal`` creates
the topic on first use: both coordinators (groups.py, transactions.py) load and create their
topic through these.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import trio

from kpy.coordinator.offsets import CommittedOffset, partition_for
from kpy.log_limiter import LogLimiter
from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError

if TYPE_CHECKING:
    from kpy.metadata import Topic

log = logging.getLogger("kpy.coordinator")

TopicPartition = tuple[str, int]


class CoordinatorContext(Protocol):
    """The broker as a coordinator sees it."""

    def config(self, name: str) -> Any:
        """A broker config value (typed, defaults filled in)."""
        ...

    def now_ms(self) -> int:
        """Wall-clock time in milliseconds (commit and transaction timestamps)."""
        ...

    def topic(self, name: str) -> Topic | None: ...

    def topic_by_id(self, topic_id: uuid.UUID) -> Topic | None: ...

    def topic_names(self) -> Iterable[str]: ...

    async def ensure_internal_topic(
        self, name: str, partitions: int, configs: dict[str, str]
    ) -> int:
        """Create ``name`` unless it exists, in a worker thread; its partition count."""
        ...

    def read_internal(self, topic: str, partition: int) -> Iterator[records.Record]:
        """Every data record of an internal partition from its log start, in order
        (blocking: call from a worker thread)."""
        ...

    def append_internal(self, topic: str, partition: int, batch: bytearray) -> None:
        """Append a batch to an internal partition (KafkaError or OSError if it cannot)."""
        ...

    def append_marker(self, topic: str, partition: int, batch: bytearray) -> bool:
        """Append a transaction marker to a data partition and wake its fetches; False if
        the partition no longer exists."""
        ...

    def next_producer_id(self) -> int: ...


class GroupOffsets(Protocol):
    """What the transaction coordinator needs of the group coordinator: where a group's
    offsets live and how offsets of a committed transaction reach the group."""

    def offsets_partition(self, group_id: str) -> int: ...

    async def ensure_topic(self) -> None: ...

    def apply_commit(self, group_id: str, offsets: dict[TopicPartition, CommittedOffset]) -> None:
        """Store and apply offsets (the topic exists); raises if they cannot be stored."""
        ...


def trio_deadline(ctx: CoordinatorContext, wall_ms: float) -> float:
    """The trio clock time at which the wall clock reads ``wall_ms``."""
    if math.isinf(wall_ms):
        return wall_ms
    return trio.current_time() + (wall_ms - ctx.now_ms()) / 1000


def _now() -> float:
    try:
        return trio.current_time()
    except RuntimeError:  # outside trio (a unit test of synchronous code)
        return time.monotonic()


class Guard:
    """Failures of a coordinator's background work: logged (rate limited), retried after a
    backoff that doubles per consecutive failure of the same kind of work, from
    ``first_backoff_s`` up to ``max_backoff_s``."""

    def __init__(
        self,
        name: str,
        *,
        first_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        log_interval_s: float = 60.0,
    ) -> None:
        self.name = name
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self._limiter = LogLimiter(log, interval=log_interval_s, clock=_now, register=False)
        self._failing: dict[Hashable, int] = {}
        self._failures = 0

    def statistics(self) -> dict[str, int]:
        return {"failures": self._failures, "failing": len(self._failing)}

    def failed(self, what: Hashable, exc: BaseException) -> float:
        """Report a failure of ``what``; returns how long to wait before retrying it."""
        count = self._failing.get(what, 0) + 1
        self._failing[what] = count
        self._failures += 1
        delay = min(self.first_backoff_s * 2 ** (count - 1), self.max_backoff_s)
        self._limiter.log(
            logging.ERROR,
            (what, type(exc).__name__),
            "%s: %s failed: %s; retrying in %.1f s",
            self.name,
            what,
            exc,
            delay,
            # A storage error explains itself; anything else is a bug worth its traceback.
            exc_info=None if isinstance(exc, OSError | KafkaError) else exc,
        )
        return delay

    def report(self, what: str, exc: BaseException) -> None:
        """Log a failure that is not retried (rate limited like the others)."""
        self._failures += 1
        self._limiter.log(
            logging.WARNING, (what, type(exc).__name__), "%s: %s failed: %s", self.name, what, exc
        )

    def succeeded(self, what: Hashable) -> None:
        count = self._failing.pop(what, 0)
        if count:
            log.info("%s: %s works again after %d failure(s)", self.name, what, count)

    async def supervise(self, what: Hashable, fn: Callable[[], Awaitable[None]]) -> None:
        """Run ``fn`` until it returns; when it raises, report it and start it again after
        the backoff. Cancellation passes through."""
        while True:
            started = trio.current_time()
            try:
                await fn()
                return
            except Exception as exc:
                if trio.current_time() - started > self.max_backoff_s:
                    self._failing.pop(what, None)  # it had been running fine
                delay = self.failed(what, exc)
            await trio.sleep(delay)


@dataclass
class Replayed:
    """What ``replay_internal`` found out of place: (partition, records) to copy to the
    right partition, then tombstones for the misplaced keys where they were."""

    copies: dict[int, list[records.Record]] = field(default_factory=dict)
    tombstones: dict[int, list[records.Record]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tombstones)


def replay_internal(
    ctx: CoordinatorContext,
    topic: str,
    partitions: int,
    id_of: Callable[[bytes | None], str | None],
    apply: Callable[[records.Record], None],
) -> Replayed:
    """Apply every record of ``topic`` in log order, each partition in turn.

    A record whose id (``id_of`` its key) belongs to another partition was written by kpy
    before ``partition_for`` followed Kafka for negative hashes; everything of that id
    written since is in the right partition. So a misplaced record is applied after all
    others, and only when its key has no record in the right partition (which is newer); a
    misplaced tombstone (left by ``migrate``) is skipped. The result names what ``migrate``
    moves to where it belongs."""
    seen: set[bytes] = set()
    misplaced: dict[bytes, tuple[int, records.Record]] = {}
    for p in range(partitions):
        for rec in ctx.read_internal(topic, p):
            key_id = id_of(rec.key)
            if key_id is not None and partition_for(key_id, partitions) != p:
                assert rec.key is not None
                misplaced.pop(bytes(rec.key), None)  # keep the latest, in order
                misplaced[bytes(rec.key)] = (p, rec)
                continue
            if rec.key is not None:
                seen.add(bytes(rec.key))
            apply(rec)
    found = Replayed()
    for key, (p, rec) in misplaced.items():
        if rec.value is None:
            continue  # moved already (or deleted by old kpy): nothing to apply or move
        key_id = id_of(key)
        assert key_id is not None
        if key not in seen:
            apply(rec)
            found.copies.setdefault(partition_for(key_id, partitions), []).append(
                records.Record(key, rec.value, [])
            )
        found.tombstones.setdefault(p, []).append(records.Record(key, None, []))
    return found


def migrate(ctx: CoordinatorContext, topic: str, found: Replayed, timestamp_ms: int) -> None:
    """Copy misplaced records to their partition, then tombstone them where they were, so
    that compaction removes them (blocking: call from a worker thread). A failure is only
    logged: replay reads them correctly either way."""
    try:
        for where in (found.copies, found.tombstones):
            for p, recs in sorted(where.items()):
                for i, r in enumerate(recs):
                    r.offset_delta = i
                ctx.append_internal(
                    topic, p, records.build_batch(recs, base_timestamp=timestamp_ms)
                )
    except Exception as exc:
        log.warning("%s: could not move records to their partitions: %s", topic, exc)
        return
    moved = sum(len(r) for r in found.tombstones.values())
    log.info("%s: moved %d record(s) to the partitions Kafka's hashing names", topic, moved)


async def load_internal(
    ctx: CoordinatorContext,
    topic: str,
    partitions: int,
    id_of: Callable[[bytes | None], str | None],
    apply: Callable[[records.Record], None],
) -> None:
    """``replay_internal`` then, if it found records out of place, ``migrate``, each in a
    worker thread."""
    found = await trio.to_thread.run_sync(replay_internal, ctx, topic, partitions, id_of, apply)
    if found:
        await trio.to_thread.run_sync(migrate, ctx, topic, found, ctx.now_ms())


async def create_internal(
    ctx: CoordinatorContext, topic: str, partitions: int, configs: dict[str, str]
) -> int:
    """Create ``topic`` unless it exists, in a worker thread; its partition count. A failure
    is COORDINATOR_NOT_AVAILABLE (clients retry): the coordinator is not available until
    its topic is."""
    try:
        return await ctx.ensure_internal_topic(topic, partitions, configs)
    except (KafkaError, OSError) as exc:
        raise KafkaError(
            ErrorCode.COORDINATOR_NOT_AVAILABLE, f"cannot create {topic}: {exc}"
        ) from exc
