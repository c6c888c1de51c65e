"""The Broker: sole owner of the cluster metadata, the logs and the coordinators.

Handlers reach shared state only through the Broker. It also owns the wake-up mechanism of
fetch long-polls: an append to a partition sets the events of the fetches waiting on it,
so a waiting fetch never polls. It holds the request counters dispatch records
(kpy.metrics) and the live client connections (``clients()``, kpy.clients), which
``statistics()`` reports with its own counts, for tests, the console and ``/metrics``.

The coordinators never see the Broker: each gets a ``CoordinatorAdapter``, the broker's
side of kpy.coordinator.runtime.CoordinatorContext (config, clock, topics, their internal
topic, transaction markers).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import trio

from kpy.clients import ClientInfo
from kpy.config import advertised_host, validate_topic_config
from kpy.coordinator.producer_ids import ProducerIdManager
from kpy.fetch_session import FetchSessionCache
from kpy.metadata import ClusterMetadata, Topic
from kpy.metrics import BrokerMetrics
from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.storage.errors import KafkaStorageError
from kpy.storage.log import Log, LogConfig
from kpy.storage.manager import LogManager

if TYPE_CHECKING:
    import uuid

    from kpy.config import Config

log = logging.getLogger("kpy.broker")

TopicPartition = tuple[str, int]


class Broker:
    def __init__(self, config: Config, *, clock=time.time) -> None:
        self.config = config
        self.clock = clock
        self.node_id: int = config.node_id()
        self.metadata = ClusterMetadata(config)
        self.logs = LogManager(config.log_dirs(), default_config=self._log_config({}), clock=clock)
        self.producer_ids = ProducerIdManager(self.metadata.data_dir)
        self.metrics = BrokerMetrics(self._topic_name)
        self.fetch_sessions = FetchSessionCache(
            config.get("max.incremental.fetch.session.cache.slots")
        )
        from kpy.coordinator.groups import GroupCoordinator
        from kpy.coordinator.transactions import TransactionCoordinator

        coordinator_context = CoordinatorAdapter(self)
        self.groups = GroupCoordinator(coordinator_context)
        self.txns = TransactionCoordinator(coordinator_context, self.groups)
        self.bound_listeners: list[tuple[str, str, int]] = []
        self._topic_config_cache: dict[str, tuple[int, dict[str, Any]]] = {}
        self._internal_topic_lock = trio.Lock()
        self._waiters: dict[TopicPartition, set[trio.Event]] = defaultdict(set)
        self._connections = 0
        # Live client connections (kpy.connection.Connection), added and removed by kpy.server.
        self.connections: set[Any] = set()
        self._background: list[Any] = []  # async callables run for the broker's lifetime
        self._closers: list[Any] = []  # async callables run at shutdown, last added first
        self._crash_on_close = False
        self.started_at = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Open the data directory: metadata, logs (with recovery), then coordinators."""
        await trio.to_thread.run_sync(self.metadata.load)
        await trio.to_thread.run_sync(self._load_logs)
        await trio.to_thread.run_sync(self.producer_ids.load_sync)
        for component in self._components():
            load = getattr(component, "load", None)
            if load is not None:
                await load()

    def _components(self) -> list[Any]:
        return [c for c in (getattr(self, n, None) for n in ("groups", "txns")) if c]

    def add_background(self, fn: Any) -> None:
        self._background.append(fn)

    def add_closer(self, fn: Any) -> None:
        self._closers.append(fn)

    async def run_background(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._log_housekeeping)
            nursery.start_soon(self.groups.run)
            nursery.start_soon(self.txns.run)
            for fn in self._background:
                nursery.start_soon(fn)

    async def _log_housekeeping(self) -> None:
        """Retention, time-based flushes and log cleaning, off the request path."""
        interval = self.config.get("log.retention.check.interval.ms") / 1000
        cleaner_enabled = self.config.get("log.cleaner.enable")
        cleaner_backoff = self.config.get("log.cleaner.backoff.ms") / 1000
        flush_check = min(interval, cleaner_backoff, 1.0)
        next_retention = trio.current_time() + interval
        next_clean = trio.current_time() + cleaner_backoff
        while True:
            await trio.sleep(flush_check)
            now_ms = int(self.clock() * 1000)
            await self._storage_work(self.logs.flush_if_needed, now_ms)
            if cleaner_enabled and trio.current_time() >= next_clean:
                # Compaction of cleanup.policy=compact logs (storage/cleaner.py).
                await self._storage_work(self.logs.clean_if_needed, now_ms)
                next_clean = trio.current_time() + cleaner_backoff
            if trio.current_time() >= next_retention:
                next_retention = trio.current_time() + interval
                await self._storage_work(self.logs.apply_retention, now_ms)
                await self._storage_work(self.logs.checkpoint)

    async def _storage_work(self, fn: Any, *args: Any) -> None:
        """Run background storage work in a worker thread. An I/O error there takes its log
        dir offline (logged once, see storage/log_dir_failure.py) and the work goes on with
        the other dirs; anything unexpected is logged here; neither stops the broker."""
        try:
            await trio.to_thread.run_sync(fn, *args)
        except Exception:
            log.exception("background storage work %s failed", getattr(fn, "__name__", fn))

    def crash_on_close(self) -> None:
        """Make the coming ``close`` leave the data dir as a killed process does (for the
        in-process brokers of kpy.testing): the segment files closed as written, but no
        flush, producer snapshot, checkpoint or clean-shutdown marker and no closers, so the
        next start recovers the logs past their recovery points."""
        self._crash_on_close = True

    async def close(self) -> None:
        if self._crash_on_close:
            await trio.to_thread.run_sync(self.logs.close, False)
            return
        for fn in reversed(self._closers):
            try:
                await fn()
            except Exception:
                log.exception("error during shutdown")
        await trio.to_thread.run_sync(self.logs.close)
        await trio.to_thread.run_sync(self.metadata.close)

    # -- topics and partitions ---------------------------------------------------------------

    def _topic_name(self, topic_id: uuid.UUID) -> str | None:
        topic = self.metadata.by_id(topic_id)
        return topic.name if topic is not None else None

    def _log_config(self, overrides: dict[str, Any]) -> LogConfig:
        return LogConfig.from_dict(self.config.effective_topic_config(overrides))

    def _load_logs(self) -> None:
        def config_of(name: str) -> LogConfig:
            topic = self.metadata.get(name)
            return self._log_config(topic.configs if topic else {})

        self.logs.load(config_of)
        for lg in self.logs.all_logs():
            if self.metadata.get(lg.topic) is None:
                log.warning("deleting log %s-%d of an unknown topic", lg.topic, lg.partition)
                self.logs.delete_topic_logs(lg.topic)
        for topic in self.metadata.topics.values():
            config = self._log_config(topic.configs)
            for p in range(topic.partitions):
                if (topic.name, p) in self.logs.offline:
                    continue
                if self.logs.get_log(topic.name, p) is None:
                    self.logs.create_log(topic.name, p, topic.topic_id, config)
                else:
                    self.logs.get_log(topic.name, p).update_config(config)

    def partition_log(self, topic: str, partition: int) -> Log:
        """The log of a partition this broker leads, or UNKNOWN_TOPIC_OR_PARTITION;
        KAFKA_STORAGE_ERROR when its log dir is offline or its files failed to load."""
        log_ = self.logs.get_log(topic, partition)
        if log_ is not None and log_.offline:
            raise log_.offline_error()
        if log_ is None and (topic, partition) in self.logs.offline:
            raise KafkaStorageError(
                f"{topic}-{partition} is offline: {self.logs.offline[(topic, partition)]}"
            )
        if log_ is None:
            raise KafkaError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                f"This server does not host this topic-partition: {topic}-{partition}",
            )
        return log_

    def topic_effective_config(self, name: str) -> dict[str, Any]:
        """A topic's configuration with broker defaults filled in (cached: produce asks per
        partition, and it only changes with AlterConfigs)."""
        cached = self._topic_config_cache.get(name)
        if cached is not None and cached[0] == self.config.generation:
            return cached[1]
        topic = self.metadata.get(name)
        config = self.config.effective_topic_config(topic.configs if topic else {})
        self._topic_config_cache[name] = (self.config.generation, config)
        return config

    def check_topic_request(
        self, name: str, partitions: int, replication: int, configs: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Validate a topic creation; returns (partition count, config overrides)."""
        self.metadata.check_new_topic(name)
        # Kafka's order: the replication factor's sign, the partition count's, then whether the
        # replication factor can be met.
        if replication == -1:
            replication = self.config.get("default.replication.factor")
        if replication <= 0:
            raise KafkaError(
                ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0."
            )
        if partitions == -1:
            partitions = self.config.get("num.partitions")
        if partitions <= 0:
            raise KafkaError(
                ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0."
            )
        if replication > 1:
            raise KafkaError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"Unable to replicate the partition {replication} time(s): "
                "The target replication factor of "
                f"{replication} cannot be reached because only 1 broker(s) are registered.",
            )
        validate_topic_config(configs)
        return partitions, {k: str(v) for k, v in configs.items()}

    async def create_topic(
        self, name: str, partitions: int, replication: int, configs: dict[str, Any]
    ) -> Topic:
        """Create a topic whose partitions are all writable when this returns."""
        partitions, overrides = self.check_topic_request(name, partitions, replication, configs)
        return await trio.to_thread.run_sync(self._create_topic_sync, name, partitions, overrides)

    def _create_topic_sync(
        self, name: str, partitions: int, overrides: dict[str, str], *, exist_ok: bool = False
    ) -> Topic:
        """Create ``name`` (or, with ``exist_ok``, return it if it exists), all or nothing.

        Under the registry lock (see kpy/metadata.py) the name is checked again (another
        creation may have taken it since ``check_topic_request``), the logs are made, and
        only then is the topic written to the registry, its one commit point: a failure
        before it leaves no topic, and logs orphaned by a crash are removed at start-up."""
        with self.metadata.lock:
            existing = self.metadata.get(name)
            if existing is not None and exist_ok:
                return existing
            topic = self.metadata.new_topic(name, partitions, overrides)
            self._topic_config_cache.pop(name, None)
            config = self._log_config(overrides)
            try:
                for p in range(partitions):
                    self.logs.create_log(name, p, topic.topic_id, config)
                self.metadata.register(topic)
            except Exception as exc:
                self.logs.delete_topic_logs(name)
                if isinstance(exc, OSError):  # writing the topic registry
                    raise KafkaStorageError(f"cannot create topic {name}: {exc}") from exc
                raise
        log.info("created topic %s with %d partition(s)", name, partitions)
        return topic

    async def ensure_internal_topic(
        self, name: str, partitions: int, configs: dict[str, str]
    ) -> Topic:
        """Create an internal topic unless it exists (concurrent callers create it once)."""
        async with self._internal_topic_lock:
            topic = self.metadata.get(name)
            if topic is not None:
                return topic
            return await trio.to_thread.run_sync(
                lambda: self._create_topic_sync(name, partitions, configs, exist_ok=True)
            )

    async def delete_topic(self, name: str) -> Topic:
        topic = self.metadata.get(name)
        if topic is None:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {name} does not exist")
        await trio.to_thread.run_sync(self._delete_topic_sync, name)
        # After the metadata is gone, so that no commit for the topic can follow.
        self.groups.forget_topic(name)
        self.txns.forget_topic(name)
        self.metrics.forget_topic(name)  # as Kafka drops a deleted topic's meters
        for p in range(topic.partitions):
            self.notify_append((name, p))
        return topic

    def _delete_topic_sync(self, name: str) -> None:
        self._topic_config_cache.pop(name, None)
        with self.metadata.lock:  # a re-creation of the name waits until its logs are gone
            self.metadata.remove_topic(name)
            self.logs.delete_topic_logs(name)
        log.info("deleted topic %s", name)

    async def add_partitions(self, name: str, total: int) -> None:
        def grow() -> None:
            with self.metadata.lock:
                topic = self.metadata.get(name)
                assert topic is not None
                old = topic.partitions
                self.metadata.add_partitions(name, total)
                config = self._log_config(topic.configs)
                for p in range(old, total):
                    self.logs.create_log(name, p, topic.topic_id, config)

        await trio.to_thread.run_sync(grow)

    def set_topic_configs(self, name: str, overrides: dict[str, str]) -> None:
        self._topic_config_cache.pop(name, None)
        self.metadata.set_configs(name, overrides)
        config = self._log_config(overrides)
        topic = self.metadata.get(name)
        assert topic is not None
        for p in range(topic.partitions):
            lg = self.logs.get_log(name, p)
            if lg is not None:  # an offline partition gets it when loaded at the next start
                lg.update_config(config)

    async def flush_logs(self, due: list[Log]) -> dict[TopicPartition, KafkaStorageError]:
        """Run the fsyncs a produce request's flush policy made due, in a worker thread;
        returns the partitions whose fsync failed (their log dir is offline now)."""

        def flush() -> dict[TopicPartition, KafkaStorageError]:
            failed = {}
            for lg in due:
                try:
                    lg.flush()
                except KafkaStorageError as exc:
                    failed[(lg.topic, lg.partition)] = exc
            return failed

        return await trio.to_thread.run_sync(flush)

    # -- connections and listeners -------------------------------------------------------------

    def admit_connection(self) -> bool:
        limit = self.config.get("max.connections")
        if limit and self._connections >= limit:
            return False
        self._connections += 1
        return True

    def release_connection(self) -> None:
        self._connections -= 1

    def clients(self) -> list[ClientInfo]:
        """A snapshot of every live client connection, oldest first."""
        return sorted(
            (conn.client_info() for conn in self.connections), key=lambda c: c.connected_at
        )

    def connections_by_listener(self) -> dict[str, int]:
        """Live connections per listener name (every bound listener, 0 included)."""
        counts = dict.fromkeys((name for name, _, _ in self.bound_listeners), 0)
        for conn in self.connections:
            counts[conn.listener] = counts.get(conn.listener, 0) + 1
        return counts

    def set_bound_listeners(self, bound: list[tuple[str, str, int]]) -> None:
        self.bound_listeners = bound

    def advertised(self, listener: str) -> tuple[str, int]:
        """The host and port clients on ``listener`` are told to use for this broker."""
        ports = {name: port for name, _, port in self.bound_listeners}
        address = self.config.advertised_address(listener, ports.get(listener, 0))
        if address is not None:
            return address
        # A listener left out of advertised.listeners advertises the address it is bound to.
        bound = [b for b in self.bound_listeners if b[0] == listener] or self.bound_listeners
        _, host, port = bound[0]
        return advertised_host(host), port

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
        """The broker's own counts and each component's ``statistics()``, for tests and the
        metrics endpoint: plain numbers (and the cluster id), read on the event loop."""
        cleaner = self.logs.cleaner
        return {
            "uptime_s": time.monotonic() - self.started_at,
            "connections": self._connections,
            "connections_by_listener": self.connections_by_listener(),
            "clients": [dataclasses.asdict(c) for c in self.clients()],
            "requests": self.metrics.statistics(),
            "fetch_waiters": sum(len(w) for w in self._waiters.values()),
            "metadata": self.metadata.statistics(),
            "logs": self.logs.statistics(),
            "partitions": {
                (lg.topic, lg.partition): lg.statistics() for lg in self.logs.all_logs()
            },
            "cleaner": cleaner.statistics() if cleaner else {"passes": 0, "bytes_reclaimed": 0},
            "fetch_sessions": self.fetch_sessions.statistics(),
            "groups": self.groups.statistics(),
            "consumer_groups": self.groups.consumer.statistics(),
            "group_timers": self.groups.timers.statistics(),
            "transactions": self.txns.statistics(),
            "producer_ids": self.producer_ids.statistics(),
        }


class CoordinatorAdapter:
    """The broker as its coordinators see it (kpy.coordinator.runtime.CoordinatorContext):
    nothing else of it reaches them."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    def config(self, name: str) -> Any:
        return self._broker.config.get(name)

    def now_ms(self) -> int:
        return int(self._broker.clock() * 1000)

    def topic(self, name: str) -> Topic | None:
        return self._broker.metadata.get(name)

    def topic_by_id(self, topic_id: uuid.UUID) -> Topic | None:
        return self._broker.metadata.by_id(topic_id)

    def topic_names(self) -> list[str]:
        return list(self._broker.metadata.topics)

    async def ensure_internal_topic(
        self, name: str, partitions: int, configs: dict[str, str]
    ) -> int:
        topic = await self._broker.ensure_internal_topic(name, partitions, configs)
        return topic.partitions

    def read_internal(self, topic: str, partition: int) -> Iterator[records.Record]:
        lg = self._broker.partition_log(topic, partition)
        for seg, pos, h in lg.batches(lg.log_start_offset):
            if not h.is_control:
                yield from records.decode_records(lg.read_batch_bytes(seg, pos, h))

    def append_internal(self, topic: str, partition: int, batch: bytearray) -> None:
        try:
            self._broker.partition_log(topic, partition).append(batch, leader_epoch=0)
        except KafkaStorageError as exc:
            # As Kafka's coordinators answer a failed write of their own log: a client then
            # looks the coordinator up again instead of retrying a dead partition.
            raise KafkaError(ErrorCode.NOT_COORDINATOR, str(exc)) from exc

    def append_marker(self, topic: str, partition: int, batch: bytearray) -> bool:
        lg = self._broker.logs.get_log(topic, partition)
        meta = self._broker.metadata.get(topic)
        if lg is None or meta is None:
            return False
        lg.append(batch, leader_epoch=meta.leader_epochs[partition], origin="coordinator")
        self._broker.notify_append((topic, partition))
        return True

    def next_producer_id(self) -> int:
        return self._broker.producer_ids.next_id()
