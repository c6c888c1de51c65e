"""LogManager: every partition log under the configured log dirs, plus the broker-level
checkpoint files and the clean-shutdown marker.

Per log dir: ``recovery-point-offset-checkpoint`` and ``log-start-offset-checkpoint`` (Kafka's
text format), and ``.kafka_cleanshutdown`` while the broker is stopped cleanly. A missing
marker at start-up means a crash: every log is validated past its recovery point.

Log dir failures (log_dir_failure.py): the first I/O error of a log, a checkpoint write or
the cleaner takes its whole log dir offline. Background work then skips that dir's logs,
no checkpoint or clean-shutdown marker is written there (so the next start-up recovers it),
and new partitions go to the dirs still online.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kpy.storage.cleaner import LogCleaner
from kpy.storage.errors import KafkaStorageError
from kpy.storage.files import DeferredCloser, atomic_write, read_checkpoint, write_checkpoint
from kpy.storage.log import Log, LogConfig
from kpy.storage.log_dir_failure import LogDirFailureChannel

log = logging.getLogger("kpy.storage")

CLEAN_SHUTDOWN = ".kafka_cleanshutdown"
RECOVERY_CHECKPOINT = "recovery-point-offset-checkpoint"
START_CHECKPOINT = "log-start-offset-checkpoint"


def parse_dir_name(name: str) -> tuple[str, int] | None:
    topic, sep, partition = name.rpartition("-")
    if not sep or not partition.isdigit() or not topic:
        return None
    return topic, int(partition)


class LogManager:
    def __init__(
        self,
        log_dirs: list[str],
        *,
        default_config: LogConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.log_dirs = [Path(d) for d in log_dirs]
        self.default_config = default_config or LogConfig()
        self.clock = clock
        self.logs: dict[tuple[str, int], Log] = {}
        self.offline: dict[tuple[str, int], str] = {}  # partitions whose files failed to load
        # fds of deleted segments, closed file.delete.delay.ms (60 s) later; see files.py.
        self.closer = DeferredCloser()
        self.failures = LogDirFailureChannel()
        self.failures.add_listener(self._dir_failed)
        self._next_dir = 0
        self.cleaner: LogCleaner | None = None

    def _dir_failed(self, log_dir: str) -> None:
        if all(self.failures.is_offline(str(d)) for d in self.log_dirs):
            # Kafka halts here; kpy keeps serving what does not need a log (see
            # log_dir_failure.py for why).
            log.error("every log dir is offline: restart the broker once the disks are fixed")

    def online_dirs(self) -> list[Path]:
        return [d for d in self.log_dirs if not self.failures.is_offline(str(d))]

    def load(self, configs: Callable[[str], LogConfig] | None = None) -> None:
        """Open every partition directory (recovering after a crash)."""
        started = time.monotonic()
        for d in self.log_dirs:
            d.mkdir(parents=True, exist_ok=True)
            clean = (d / CLEAN_SHUTDOWN).exists()
            recovery = read_checkpoint(d / RECOVERY_CHECKPOINT)
            starts = read_checkpoint(d / START_CHECKPOINT)
            for entry in sorted(os.listdir(d)):
                tp = parse_dir_name(entry)
                if tp is None or not (d / entry).is_dir() or entry.endswith("-delete"):
                    continue
                config = configs(tp[0]) if configs else self.default_config
                lg = self._new_log(d, tp[0], tp[1], config)
                try:
                    lg.load(
                        recovery_point=recovery.get(tp, 0),
                        log_start_offset=starts.get(tp, 0),
                        clean=clean,
                    )
                except OSError as exc:
                    # One unreadable partition must not keep the others offline.
                    log.error("%s-%d is offline: cannot read its log: %s", tp[0], tp[1], exc)
                    self.offline[tp] = str(exc)
                    continue
                self.logs[tp] = lg
            if clean:
                os.unlink(d / CLEAN_SHUTDOWN)
            elif self.logs:
                log.warning(
                    "%s: no clean-shutdown marker, recovered logs past their recovery points", d
                )
        log.info(
            "loaded %d partition logs in %.0f ms",
            len(self.logs),
            (time.monotonic() - started) * 1000,
        )

    def create_log(
        self, topic: str, partition: int, topic_id: uuid.UUID, config: LogConfig | None = None
    ) -> Log:
        """The partition's log, created in the next online log dir (round robin) unless it
        exists; KafkaStorageError when every dir is offline or the creation fails."""
        existing = self.logs.get((topic, partition))
        if existing is not None:
            return existing
        online = self.online_dirs()
        if not online:
            raise KafkaStorageError(f"cannot create {topic}-{partition}: every log dir is offline")
        d = online[self._next_dir % len(online)]
        self._next_dir += 1
        lg = self._new_log(d, topic, partition, config or self.default_config)
        lg.create(topic_id)
        self.logs[(topic, partition)] = lg
        return lg

    def _new_log(self, d: Path, topic: str, partition: int, config: LogConfig) -> Log:
        return Log(
            d / f"{topic}-{partition}",
            topic,
            partition,
            config,
            clock=self.clock,
            closer=self.closer,
            failures=self.failures,
        )

    def online_logs(self) -> list[Log]:
        """The logs whose dir is online (a copy: topic creation may add logs meanwhile)."""
        return [lg for lg in list(self.logs.values()) if not lg.offline]

    def get_log(self, topic: str, partition: int) -> Log | None:
        return self.logs.get((topic, partition))

    def all_logs(self) -> list[Log]:
        return list(self.logs.values())

    def delete_topic_logs(self, topic: str) -> None:
        for tp in [tp for tp in list(self.logs) if tp[0] == topic]:
            self.logs.pop(tp).delete()

    def apply_retention(self, now_ms: int) -> None:
        self.closer.reap(now_ms)
        for lg in self.online_logs():
            try:
                lg.apply_retention(now_ms)
            except KafkaStorageError:
                pass  # its dir went offline: logged once by the failure channel

    def clean_if_needed(self, now_ms: int) -> int:
        """One log-cleaner pass over the compacted logs (see cleaner.py); returns how many
        logs were cleaned."""
        if self.cleaner is None:
            self.cleaner = LogCleaner(self.log_dirs, failures=self.failures)
        return self.cleaner.clean(self.online_logs(), now_ms)

    def flush_if_needed(self, now_ms: int) -> None:
        """fsync the logs whose flush policy made it due, and the producer snapshots of the
        others' last roll. A failure takes that log's dir offline, where nothing is fsynced
        again; the other dirs carry on."""
        self.closer.reap(now_ms)
        for lg in self.online_logs():
            try:
                if lg.flush_due(now_ms):
                    lg.flush()
                else:
                    lg.sync_snapshot()
            except KafkaStorageError:
                pass  # logged once by the failure channel

    def checkpoint(self) -> None:
        """Write the recovery point and log start offset checkpoints of the online dirs."""
        for d in self.online_dirs():
            # list() first: topic creation may add logs from another thread meanwhile.
            mine = [lg for lg in list(self.logs.values()) if Path(lg.log_dir) == d]
            try:
                write_checkpoint(
                    d / RECOVERY_CHECKPOINT,
                    {(lg.topic, lg.partition): lg.recovery_point for lg in mine},
                )
                write_checkpoint(
                    d / START_CHECKPOINT,
                    {(lg.topic, lg.partition): lg.log_start_offset for lg in mine},
                )
            except OSError as exc:
                self.failures.fail(str(d), "writing the offset checkpoints", exc)

    def close(self, clean: bool = True) -> None:
        """Close every log. ``clean``: flush, snapshot, checkpoint, then write the marker so
        the next start skips recovery; otherwise just close the files (like a crash). An
        offline dir gets no flush, checkpoint or marker: it is recovered at the next start."""
        for lg in self.logs.values():
            if clean and not lg.offline:
                try:
                    lg.flush()
                except KafkaStorageError:
                    pass
                lg.close()
            else:
                for seg in lg.segments:
                    seg.close()
        self.closer.reap()
        if not clean:
            return
        self.checkpoint()
        for d in self.online_dirs():
            try:
                atomic_write(d / CLEAN_SHUTDOWN, b"")
            except OSError as exc:
                self.failures.fail(str(d), "writing the clean-shutdown marker", exc)

    def statistics(self) -> dict[str, int]:
        return {
            "logs": len(self.logs),
            "bytes": sum(lg.size_in_bytes() for lg in self.logs.values()),
        }
