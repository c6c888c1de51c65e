"""Log dir failures: the first I/O error in a log dir takes the whole dir offline.

As Kafka's LogDirFailureChannel: after a write, fsync or rename fails, what reached the disk
is unknown (after a failed fsync Linux may already have dropped the dirty pages, so a retry
can "succeed" over lost data). So nothing in that dir is written or fsynced again: every log
in it refuses appends, reads and flushes with KafkaStorageError, its recovery point stays at
the last fsync that succeeded, no checkpoint or clean-shutdown marker is written there, and
the next start-up recovers it like after a crash. Logs in other dirs carry on.

Divergence from Kafka: with every log dir offline Kafka 4.4 halts the broker
(LogManager.handleLogDirFailure: "Shutdown broker because all log dirs ... have failed").
kpy is a single node with no replica to take over, so it keeps running: metadata, groups
on healthy dirs, the console and the admin APIs stay reachable, offline partitions answer
KAFKA_STORAGE_ERROR, and a restart (after the disk is fixed) brings the dir back, as it
does in Kafka.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("kpy.storage")


class LogDirFailureChannel:
    """The offline log dirs of one broker (shared by its LogManager and every Log).

    ``offline`` maps a log dir (the string a Log keeps as ``log_dir``) to what failed there;
    a dir enters it once and never leaves while the process runs. Thread-safe: flushes and
    the cleaner report from worker threads."""

    def __init__(self) -> None:
        self.offline: dict[str, str] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str], None]] = []

    def add_listener(self, fn: Callable[[str], None]) -> None:
        """Call ``fn(log_dir)`` once when a dir goes offline (from the failing thread)."""
        self._listeners.append(fn)

    def is_offline(self, log_dir: str) -> bool:
        return log_dir in self.offline

    def fail(self, log_dir: str, what: str, exc: OSError) -> bool:
        """Take ``log_dir`` offline after ``exc`` raised while doing ``what``; True the first
        time (which logs the one ERROR naming the dir), False when it was offline already."""
        reason = f"{what}: {exc}"
        with self._lock:
            if log_dir in self.offline:
                return False
            self.offline[log_dir] = reason
        log.error(
            "log dir %s is offline after an I/O error (%s); its partitions answer "
            "KAFKA_STORAGE_ERROR and nothing in it is written or fsynced again until the "
            "broker restarts",
            log_dir,
            reason,
        )
        for fn in self._listeners:
            fn(log_dir)
        return True
