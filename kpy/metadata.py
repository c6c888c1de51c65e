"""Cluster metadata: cluster id, node id, the topic registry and dynamic broker configs.

Promises:
- Every log dir holds a ``meta.properties`` in Kafka's KRaft format (``version=1``,
  ``cluster.id``, ``node.id``, ``directory.id``), so the cluster id is stable across restarts
  and Kafka's tools recognise the directory. All log dirs must agree on the cluster id, and a
  dir whose ``node.id`` is not the configured one is refused at start-up, as Kafka does.
- Topics (name, topic id, partition count, config overrides, partition leader epochs) are
  persisted through the storage layer's ``TopicStore`` (one JSON file, atomic rewrites); the
  leader epochs travel in the entry's extra fields. A change is on disk before it is visible
  in ``topics``; one whose write fails changes nothing.
- Registry changes are serialised by ``ClusterMetadata.lock``, a re-entrant threading lock:
  the broker runs them in worker threads (``trio.to_thread``), which a trio lock could not
  cover. Check-then-act sequences (is the name free? then create the topic and its
  logs) hold it throughout, so two creations of one name cannot both pass the check. Nothing
  holding it waits for the event loop, so the event loop blocking on it is brief.
- ``topics`` and ``topics_by_id`` are replaced on each change, never mutated in place, so the
  event loop can iterate them while a worker thread registers a topic.
- Topic ids are random UUIDs, never the zero UUID nor the id Kafka reserves for its
  metadata topic; cluster ids use the same generator (22 characters of URL-safe base64).
- Topic names follow Kafka's rules (``validate_topic_name``); names that differ only by
  '.' versus '_' collide, as in Kafka.
- Dynamic broker configs (AlterConfigs on the broker resource) are persisted in
  ``kpy-broker-configs.json`` and restored at load.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpy.config import ConfigError, parse_properties
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.storage.files import atomic_write
from kpy.storage.topics import TopicEntry, TopicStore

if TYPE_CHECKING:
    from kpy.config import Config

log = logging.getLogger("kpy.metadata")

OFFSETS_TOPIC = "__consumer_offsets"
TRANSACTION_TOPIC = "__transaction_state"
INTERNAL_TOPICS = frozenset({OFFSETS_TOPIC, TRANSACTION_TOPIC})
MAX_TOPIC_NAME = 249
_LEGAL = re.compile(r"[a-zA-Z0-9._-]+")
ZERO_UUID = uuid.UUID(int=0)
# Kafka reserves this id (its "ONE_UUID") for the metadata topic; no topic or cluster gets it.
METADATA_TOPIC_ID = uuid.UUID(int=1)
META_PROPERTIES = "meta.properties"
KAFKA_METADATA_LOG = "__cluster_metadata-0"  # KRaft's metadata log partition
BROKER_CONFIGS_FILE = "kpy-broker-configs.json"


class MetaPropertiesError(ConfigError):
    """A data dir that does not belong to this node or cluster (a start-up error)."""


def validate_topic_name(name: str | None) -> None:
    """Kafka's topic name rules; raises KafkaError(INVALID_TOPIC_EXCEPTION) naming the name."""
    if not name:
        raise KafkaError(
            ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic name is illegal, it can't be empty"
        )
    if name in (".", ".."):
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, 'Topic name cannot be "." or ".."')
    if len(name) > MAX_TOPIC_NAME:
        raise KafkaError(
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME} characters, "
            f"topic name: {name}",
        )
    if not _LEGAL.fullmatch(name):
        raise KafkaError(
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            f'Topic name "{name}" is illegal, it contains a character other than '
            "ASCII alphanumerics, '.', '_' and '-'",
        )


def has_collision_chars(name: str) -> bool:
    return "." in name or "_" in name


def collision_key(name: str) -> str:
    """'.' and '_' map to the same metric name, so Kafka refuses topics differing only there."""
    return name.replace(".", "_")


def encode_uuid(u: uuid.UUID) -> str:
    """Kafka's string form of a Uuid: URL-safe base64 of the 16 bytes, without padding."""
    return base64.urlsafe_b64encode(u.bytes).decode().rstrip("=")


encode_cluster_id = encode_uuid


def random_uuid() -> uuid.UUID:
    """A random id as Kafka's Uuid.randomUuid makes them: never the zero or the metadata id,
    and never one whose string form starts with '-' (it would read as a command-line flag)."""
    while True:
        u = uuid.uuid4()
        if u not in (ZERO_UUID, METADATA_TOPIC_ID) and not encode_uuid(u).startswith("-"):
            return u


new_topic_id = random_uuid


def new_cluster_id() -> str:
    return encode_uuid(random_uuid())


@dataclass(slots=True)
class Topic:
    """A topic as the broker sees it; ``leader_epochs[p]`` is partition p's leader epoch."""

    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)
    leader_epochs: list[int] = field(default_factory=list)

    @property
    def internal(self) -> bool:
        return self.name in INTERNAL_TOPICS

    def to_entry(self) -> TopicEntry:
        return TopicEntry(
            self.name,
            self.topic_id,
            self.partitions,
            dict(self.configs),
            {"leader_epochs": list(self.leader_epochs)},
        )

    @classmethod
    def from_entry(cls, entry: TopicEntry) -> Topic:
        epochs = [int(e) for e in entry.extra.get("leader_epochs") or []][: entry.partitions]
        epochs += [0] * (entry.partitions - len(epochs))
        return cls(entry.name, entry.topic_id, entry.partitions, dict(entry.configs), epochs)


def read_meta_properties(path: Path) -> dict[str, str] | None:
    try:
        return parse_properties(path.read_text(encoding="latin-1"))
    except FileNotFoundError:
        return None


def write_meta_properties(path: Path, cluster_id: str, node_id: int, directory_id: str) -> None:
    """Kafka's KRaft meta.properties (version 1), written atomically."""
    stamp = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())
    text = (
        f"#\n#{stamp}\n"
        f"cluster.id={cluster_id}\ndirectory.id={directory_id}\nnode.id={node_id}\nversion=1\n"
    )
    atomic_write(path, text.encode("latin-1"))


class ClusterMetadata:
    """Owner of the cluster id and the topic registry (names <-> ids, partitions, overrides,
    leader epochs). Synchronous; every change is on disk when the method returns."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.node_id = config.node_id()
        self.log_dirs = [Path(d) for d in config.log_dirs()]
        self.data_dir = self.log_dirs[0]
        self.cluster_id = ""
        self.topics: dict[str, Topic] = {}
        self.topics_by_id: dict[uuid.UUID, Topic] = {}
        self._store = TopicStore(self.data_dir)
        self.lock = threading.RLock()  # serialises registry changes (see the module docstring)

    # -- start-up ---------------------------------------------------------------------------

    def load(self) -> None:
        """Create the log dirs, settle the cluster id, read topics and dynamic configs."""
        for d in self.log_dirs:
            d.mkdir(parents=True, exist_ok=True)
            if (d / KAFKA_METADATA_LOG).is_dir():
                # Apache Kafka's own data dir: its topics live in its metadata log, which kpy
                # does not read, so kpy would take every partition dir there for a stray log.
                raise MetaPropertiesError(
                    f"{d} is an Apache Kafka data dir (it holds {KAFKA_METADATA_LOG}); kpy keeps "
                    "its own topic registry and cannot serve it: give kpy a dir of its own"
                )
        self.cluster_id = self._load_cluster_id()
        topics = [Topic.from_entry(entry) for entry in self._store.load().values()]
        self.topics = {t.name: t for t in topics}
        self.topics_by_id = {t.topic_id: t for t in topics}
        path = self.data_dir / BROKER_CONFIGS_FILE
        if path.exists():
            self.config.load_dynamic(json.loads(path.read_text()))
        elif not self.topics:
            # A new cluster: Kafka 4.4 (eligible leader replicas on, KIP-966) bootstraps it
            # with a cluster-wide min.insync.replicas taken from the static config, which
            # DescribeConfigs then shows as DYNAMIC_DEFAULT_BROKER_CONFIG.
            # Set as stored state, not as an AlterConfigs would: Kafka's controller writes it
            # itself, past the checks that clients' requests go through.
            default = {"min.insync.replicas": str(self.config.get("min.insync.replicas"))}
            self.config.load_dynamic({"default": default})
            self.save_broker_configs()

    def _load_cluster_id(self) -> str:
        found: dict[Path, dict[str, str]] = {}
        for d in self.log_dirs:
            props = read_meta_properties(d / META_PROPERTIES)
            if props is not None:
                found[d] = props
        ids = {props.get("cluster.id") for props in found.values()} - {None, ""}
        if len(ids) > 1:
            detail = ", ".join(f"{d}: {p.get('cluster.id')}" for d, p in found.items())
            raise MetaPropertiesError(f"log dirs belong to different clusters ({detail})")
        for d, props in found.items():
            stored = props.get("node.id") or props.get("broker.id")
            if stored is not None and stored.strip() != str(self.node_id):
                # Kafka's words (MetaPropertiesEnsemble): the dir is another node's; refuse it.
                raise MetaPropertiesError(
                    f"Stored node id {stored.strip()} doesn't match previous node id "
                    f"{self.node_id} in {d / META_PROPERTIES}. If you moved your data, make sure "
                    "your configured node id matches. If you intend to create a new node, you "
                    "should remove all data in your data directories."
                )
        configured = self.config.get("cluster.id")
        cluster_id = ids.pop() if ids else configured or new_cluster_id()
        if configured and configured != cluster_id:
            raise MetaPropertiesError(
                f"cluster.id={configured} in the config but the data dir belongs to {cluster_id}"
            )
        for d in self.log_dirs:
            props = found.get(d)
            if not props or props.get("cluster.id") != cluster_id:
                directory_id = (props or {}).get("directory.id") or encode_uuid(random_uuid())
                write_meta_properties(d / META_PROPERTIES, cluster_id, self.node_id, directory_id)
        return cluster_id

    def close(self) -> None:
        pass

    # -- topics -----------------------------------------------------------------------------

    def _index(self, topic: Topic) -> None:
        self.topics = {**self.topics, topic.name: topic}
        self.topics_by_id = {**self.topics_by_id, topic.topic_id: topic}

    def _unindex(self, topic: Topic) -> None:
        self.topics = {n: t for n, t in self.topics.items() if n != topic.name}
        self.topics_by_id = {i: t for i, t in self.topics_by_id.items() if i != topic.topic_id}

    def save(self) -> None:
        """Rewrite the whole registry (normally each change persists itself)."""
        with self.lock:
            self._store.replace_all({name: t.to_entry() for name, t in self.topics.items()})

    def get(self, name: str) -> Topic | None:
        return self.topics.get(name)

    def by_id(self, topic_id: uuid.UUID) -> Topic | None:
        return self.topics_by_id.get(topic_id)

    def check_new_topic(self, name: str) -> None:
        """Raise the error CreateTopics gives for ``name``: INVALID_TOPIC_EXCEPTION for a bad
        or colliding name, TOPIC_ALREADY_EXISTS for an existing one."""
        validate_topic_name(name)
        if name in self.topics:
            raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        if has_collision_chars(name):
            key = collision_key(name)
            for existing in self.topics:
                if collision_key(existing) == key:
                    raise KafkaError(
                        ErrorCode.INVALID_TOPIC_EXCEPTION,
                        f"Topic '{name}' collides with existing topic: {existing}",
                    )

    def new_topic(self, name: str, partitions: int, configs: dict[str, str]) -> Topic:
        """A topic ``name`` with a fresh id, checked (``check_new_topic``) but not registered.
        Hold ``lock`` from here to ``register`` so that no other creation of the name (or of
        a colliding one) slips in between."""
        with self.lock:
            self.check_new_topic(name)
            while True:
                topic_id = random_uuid()
                if topic_id not in self.topics_by_id:
                    break
        return Topic(name, topic_id, partitions, dict(configs), [0] * partitions)

    def register(self, topic: Topic) -> None:
        """Persist a topic made by ``new_topic``, then make it visible. Raises OSError when
        the registry cannot be written; then nothing changed."""
        if has_collision_chars(topic.name) and not topic.name.startswith("__"):
            log.info(
                "topic %s contains '.' or '_', which collide in metric names; "
                "avoid using both in topic names",
                topic.name,
            )
        with self.lock:
            self._store.put(topic.to_entry())
            self._index(topic)

    def add_topic(self, name: str, partitions: int, configs: dict[str, str]) -> Topic:
        """Check, persist and register a new topic (``new_topic`` then ``register``)."""
        with self.lock:
            topic = self.new_topic(name, partitions, configs)
            self.register(topic)
        return topic

    def remove_topic(self, name: str) -> Topic | None:
        with self.lock:
            topic = self.topics.get(name)
            if topic is not None:
                self._store.remove(name)
                self._unindex(topic)
        return topic

    def add_partitions(self, name: str, total: int) -> Topic:
        """Grow ``name`` to ``total`` partitions; new partitions start at leader epoch 0."""
        with self.lock:
            topic = self.topics[name]
            epochs = topic.leader_epochs + [0] * (total - topic.partitions)
            self._store.put(_entry(topic, partitions=total, leader_epochs=epochs))
            # Epochs first: a reader that sees the new count finds an epoch for each partition.
            topic.leader_epochs = epochs
            topic.partitions = total
        return topic

    def set_configs(self, name: str, configs: dict[str, str]) -> None:
        """Replace the config overrides of ``name``."""
        with self.lock:
            topic = self.topics[name]
            self._store.put(_entry(topic, configs=dict(configs)))
            topic.configs = dict(configs)

    def bump_leader_epoch(self, name: str, partition: int) -> int:
        """Start a new leader epoch for one partition (e.g. after an election) and return it."""
        with self.lock:
            topic = self.topics[name]
            epochs = list(topic.leader_epochs)
            epochs[partition] += 1
            self._store.put(_entry(topic, leader_epochs=epochs))
            topic.leader_epochs = epochs
        return epochs[partition]

    # -- dynamic broker configs -------------------------------------------------------------

    def save_broker_configs(self) -> None:
        """Persist the config's dynamic layers (call after AlterConfigs on the broker)."""
        data = json.dumps(self.config.dynamic_configs(), indent=1, sort_keys=True)
        atomic_write(self.data_dir / BROKER_CONFIGS_FILE, data.encode())

    def statistics(self) -> dict[str, Any]:
        return {
            "cluster_id": self.cluster_id,
            "topics": len(self.topics),
            "partitions": sum(t.partitions for t in self.topics.values()),
        }


def _entry(topic: Topic, **changes: Any) -> TopicEntry:
    """The registry entry ``topic`` would have with ``changes`` applied (topic untouched)."""
    return replace(topic, **changes).to_entry()
