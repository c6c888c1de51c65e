"""LogManager: every partition log under the configured log dirs, plus the broker-level
checkpoint files and the clean-shutdown marker.

Per log dir: ``recovery-point-offset-checkpoint`` and ``log-start-offset-checkpoint`` (Kafka's
text format), and ``.kafka_cleanshutdown`` while the broker is stopped cleanly. A missing
marker at start-up means a crash: every log is validated past its recovery point.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kpy.storage.cleaner import LogCleaner
from kpy.storage.files import DeferredCloser, atomic_write, read_checkpoint, write_checkpoint
from kpy.storage.log import Log, LogConfig

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
        self._next_dir = 0
        self.cleaner: LogCleaner | None = None

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
                lg = Log(d / entry, tp[0], tp[1], config, clock=self.clock, closer=self.closer)
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
        existing = self.logs.get((topic, partition))
        if existing is not None:
            return existing
        d = self.log_dirs[self._next_dir % len(self.log_dirs)]
        self._next_dir += 1
        lg = Log(
            d / f"{topic}-{partition}",
            topic,
            partition,
            config or self.default_config,
            clock=self.clock,
            closer=self.closer,
        )
        lg.create(topic_id)
        self.logs[(topic, partition)] = lg
        return lg

    def get_log(self, topic: str, partition: int) -> Log | None:
        return self.logs.get((topic, partition))

    def all_logs(self) -> list[Log]:
        return list(self.logs.values())

    def delete_topic_logs(self, topic: str) -> None:
        for tp in [tp for tp in list(self.logs) if tp[0] == topic]:
            self.logs.pop(tp).delete()

    def apply_retention(self, now_ms: int) -> None:
        self.closer.reap(now_ms)
        for lg in list(self.logs.values()):
            try:
                lg.apply_retention(now_ms)
            except OSError as exc:
                log.error("%s-%d: retention failed: %s", lg.topic, lg.partition, exc)

    def clean_if_needed(self, now_ms: int) -> int:
        """One log-cleaner pass over the compacted logs (see cleaner.py); returns how many
        logs were cleaned."""
        if self.cleaner is None:
            self.cleaner = LogCleaner(self.log_dirs)
        return self.cleaner.clean(list(self.logs.values()), now_ms)

    def needs_flush(self) -> bool:
        now = int(self.clock() * 1000)
        return any(lg.flush_due(now) for lg in self.logs.values())

    def flush_due(self) -> None:
        now = int(self.clock() * 1000)
        for lg in list(self.logs.values()):
            if lg.flush_due(now):
                lg.flush()

    def flush_if_needed(self, now_ms: int) -> None:
        self.closer.reap(now_ms)
        for lg in list(self.logs.values()):
            if lg.flush_due(now_ms):
                lg.flush()
            else:
                lg.sync_snapshot()

    def checkpoint(self) -> None:
        for d in self.log_dirs:
            # list() first: topic creation may add logs from another thread meanwhile.
            mine = [lg for lg in list(self.logs.values()) if Path(lg.log_dir) == d]
            write_checkpoint(
                d / RECOVERY_CHECKPOINT,
                {(lg.topic, lg.partition): lg.recovery_point for lg in mine},
            )
            write_checkpoint(
                d / START_CHECKPOINT, {(lg.topic, lg.partition): lg.log_start_offset for lg in mine}
            )

    def close(self, clean: bool = True) -> None:
        """Close every log. ``clean``: flush, snapshot, checkpoint, then write the marker so
        the next start skips recovery; otherwise just close the files (like a crash)."""
        for lg in self.logs.values():
            if clean:
                lg.flush()
                lg.close()
            else:
                for seg in lg.segments:
                    seg.close()
        self.closer.reap()
        if not clean:
            return
        self.checkpoint()
        for d in self.log_dirs:
            atomic_write(d / CLEAN_SHUTDOWN, b"")

    def statistics(self) -> dict[str, int]:
        return {
            "logs": len(self.logs),
            "bytes": sum(lg.size_in_bytes() for lg in self.logs.values()),
        }
