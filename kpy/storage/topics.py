"""TopicStore: the topics of the cluster (name, topic id, partition count, config overrides),
persisted atomically as JSON in the data dir.

File ``kpy-topics.json``: ``{"version": 1, "topics": [{"name", "topic_id" (UUID string),
"partitions", "configs": {kafka name: string value}, ...}]}``. Keys this module does not know
(e.g. ``leader_epochs`` kept by the metadata layer) are preserved in ``TopicEntry.extra``.
Every change rewrites the whole file (temp, fsync, rename, fsync dir), so a crash leaves the
old or the new registry, never a mix. A change is made in memory only once its file is written:
a failed write (full disk, say) leaves both the file and ``topics`` as they were, so nothing
half-made can be persisted later by someone else's save.

Thread safety: the broker changes topics from worker threads (``trio.to_thread``), and every
change rewrites the same file through the same temp name, so changes are serialised by a
lock held from the in-memory copy to the rename. Readers of ``topics`` see either the old or
the new dict: it is replaced, never mutated in place.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kpy.storage.files import atomic_write

log = logging.getLogger("kpy.storage")

FILE_NAME = "kpy-topics.json"
VERSION = 1


@dataclass
class TopicEntry:
    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = dict(self.extra)
        d.update(
            name=self.name,
            topic_id=str(self.topic_id),
            partitions=self.partitions,
            configs=dict(self.configs),
        )
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TopicEntry:
        known = {"name", "topic_id", "partitions", "configs"}
        return cls(
            name=d["name"],
            topic_id=uuid.UUID(d["topic_id"]),
            partitions=int(d["partitions"]),
            configs={str(k): str(v) for k, v in (d.get("configs") or {}).items()},
            extra={k: v for k, v in d.items() if k not in known},
        )


class TopicStore:
    """The topic registry of one data dir; safe to change from several threads."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.topics: dict[str, TopicEntry] = {}
        self._lock = threading.Lock()

    def load(self) -> dict[str, TopicEntry]:
        """Read the file (an absent file is an empty registry)."""
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            self.topics = {}
            return self.topics
        if raw.get("version") != VERSION:
            raise ValueError(f"{self.path}: unsupported version {raw.get('version')!r}")
        topics = {}
        for d in raw.get("topics", []):
            entry = TopicEntry.from_json(d)
            topics[entry.name] = entry
        self.topics = topics
        log.info("loaded %d topics from %s", len(self.topics), self.path)
        return self.topics

    def save(self) -> None:
        """Rewrite the file from ``topics``."""
        with self._lock:
            self._commit(self.topics)

    def replace_all(self, topics: dict[str, TopicEntry]) -> None:
        """Make ``topics`` the whole registry."""
        with self._lock:
            self._commit(dict(topics))

    def _commit(self, topics: dict[str, TopicEntry]) -> None:
        """Write ``topics`` as the registry, then adopt it (the caller holds the lock)."""
        data = {
            "version": VERSION,
            "topics": [topics[n].to_json() for n in sorted(topics)],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(data, indent=1, sort_keys=True).encode())
        self.topics = topics

    def get(self, name: str) -> TopicEntry | None:
        return self.topics.get(name)

    def by_id(self, topic_id: uuid.UUID) -> TopicEntry | None:
        for t in self.topics.values():
            if t.topic_id == topic_id:
                return t
        return None

    def all(self) -> list[TopicEntry]:
        return list(self.topics.values())

    def put(self, entry: TopicEntry) -> None:
        """Add or replace a topic and persist."""
        with self._lock:
            self._commit({**self.topics, entry.name: entry})

    def create(
        self,
        name: str,
        partitions: int,
        configs: dict[str, str] | None = None,
        topic_id: uuid.UUID | None = None,
    ) -> TopicEntry:
        entry = TopicEntry(name, topic_id or uuid.uuid4(), partitions, dict(configs or {}))
        with self._lock:
            if name in self.topics:
                raise ValueError(f"topic {name!r} already exists")
            self._commit({**self.topics, name: entry})
        return entry

    def set_partitions(self, name: str, partitions: int) -> None:
        with self._lock:
            entry = replace(self.topics[name], partitions=partitions)
            self._commit({**self.topics, name: entry})

    def set_configs(self, name: str, configs: dict[str, str]) -> None:
        """Replace the overrides of ``name``."""
        with self._lock:
            entry = replace(self.topics[name], configs=dict(configs))
            self._commit({**self.topics, name: entry})

    def remove(self, name: str) -> TopicEntry | None:
        with self._lock:
            entry = self.topics.get(name)
            if entry is not None:
                self._commit({n: e for n, e in self.topics.items() if n != name})
        return entry
