"""Cluster metadata: cluster id, node id, and the topic registry.

The cluster id lives in ``meta.properties`` in the first log dir, in Kafka's format, so it is
stable across restarts. Topics (name, id, partition count, config overrides, leader epochs)
are persisted through the storage layer's TopicStore.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.storage.files import atomic_write

if TYPE_CHECKING:
    from kpy.config import Config

log = logging.getLogger("kpy.metadata")

OFFSETS_TOPIC = "__consumer_offsets"
TRANSACTION_TOPIC = "__transaction_state"
INTERNAL_TOPICS = frozenset({OFFSETS_TOPIC, TRANSACTION_TOPIC})
MAX_TOPIC_NAME = 249
_LEGAL = re.compile(r"[a-zA-Z0-9._-]+")
# Kafka reserves this id for the metadata topic; user topics never get it.
METADATA_TOPIC_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")


def validate_topic_name(name: str | None) -> None:
    """Kafka's topic name rules; raises KafkaError(INVALID_TOPIC_EXCEPTION)."""
    if not name:
        raise KafkaError(
            ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic name is illegal, it can't be empty"
        )
    if name in (".", ".."):
        raise KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, f'Topic name cannot be "{name}"')
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


def collision_key(name: str) -> str:
    """'.' and '_' collide in metric names, so Kafka refuses topics differing only by them."""
    return name.replace(".", "_")


def new_topic_id() -> uuid.UUID:
    while True:
        topic_id = uuid.uuid4()
        if topic_id.int not in (0, METADATA_TOPIC_ID.int):
            return topic_id


def encode_cluster_id(u: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(u.bytes).decode().rstrip("=")


@dataclass(slots=True)
class Topic:
    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)
    leader_epochs: list[int] = field(default_factory=list)

    @property
    def internal(self) -> bool:
        return self.name in INTERNAL_TOPICS

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "topic_id": str(self.topic_id),
            "partitions": self.partitions,
            "configs": self.configs,
            "leader_epochs": self.leader_epochs,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Topic:
        epochs = list(d.get("leader_epochs") or [])
        epochs += [0] * (d["partitions"] - len(epochs))
        return cls(
            d["name"],
            uuid.UUID(d["topic_id"]),
            d["partitions"],
            dict(d.get("configs") or {}),
            epochs,
        )


def read_properties(path: Path) -> dict[str, str]:
    from kpy.config import parse_properties

    return parse_properties(path.read_text())


class ClusterMetadata:
    """Owner of the cluster id and the topic registry (names <-> ids, partitions, overrides)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.node_id = config.node_id()
        self.data_dir = Path(config.log_dirs()[0])
        self.cluster_id = ""
        self.topics: dict[str, Topic] = {}
        self.topics_by_id: dict[uuid.UUID, Topic] = {}
        self._store_path = self.data_dir / "kpy-topics.json"

    def load(self) -> None:
        for d in self.config.log_dirs():
            Path(d).mkdir(parents=True, exist_ok=True)
        self.cluster_id = self._load_cluster_id()
        if self._store_path.exists():
            import json

            for entry in json.loads(self._store_path.read_text()).get("topics", []):
                topic = Topic.from_json(entry)
                self._index(topic)

    def _load_cluster_id(self) -> str:
        path = self.data_dir / "meta.properties"
        if path.exists():
            props = read_properties(path)
            cluster_id = props.get("cluster.id")
            if cluster_id:
                stored_node = props.get("node.id")
                if stored_node is not None and int(stored_node) != self.node_id:
                    log.warning(
                        "meta.properties has node.id=%s, config says %s; using the config",
                        stored_node,
                        self.node_id,
                    )
                return cluster_id
        cluster_id = self.config.get("cluster.id") or encode_cluster_id(uuid.uuid4())
        text = (
            "#\n#Written by kpy\n"
            f"cluster.id={cluster_id}\nnode.id={self.node_id}\nversion=1\n"
            f"directory.id={encode_cluster_id(uuid.uuid4())}\n"
        )
        atomic_write(path, text.encode())
        return cluster_id

    def close(self) -> None:
        pass

    def save(self) -> None:
        import json

        data = {"version": 1, "topics": [t.to_json() for t in self.topics.values()]}
        atomic_write(self._store_path, json.dumps(data, indent=1, sort_keys=True).encode())

    def _index(self, topic: Topic) -> None:
        self.topics[topic.name] = topic
        self.topics_by_id[topic.topic_id] = topic

    def get(self, name: str) -> Topic | None:
        return self.topics.get(name)

    def by_id(self, topic_id: uuid.UUID) -> Topic | None:
        return self.topics_by_id.get(topic_id)

    def check_new_topic(self, name: str) -> None:
        """Raise the error CreateTopics gives for ``name``, if any."""
        validate_topic_name(name)
        if name in self.topics:
            raise KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        key = collision_key(name)
        for existing in self.topics:
            if collision_key(existing) == key:
                raise KafkaError(
                    ErrorCode.INVALID_TOPIC_EXCEPTION,
                    f"Topic '{name}' collides with existing topic: {existing}",
                )

    def add_topic(self, name: str, partitions: int, configs: dict[str, str]) -> Topic:
        topic = Topic(name, new_topic_id(), partitions, dict(configs), [0] * partitions)
        self._index(topic)
        self.save()
        return topic

    def remove_topic(self, name: str) -> Topic | None:
        topic = self.topics.pop(name, None)
        if topic is not None:
            self.topics_by_id.pop(topic.topic_id, None)
            self.save()
        return topic

    def add_partitions(self, name: str, total: int) -> Topic:
        topic = self.topics[name]
        topic.leader_epochs += [0] * (total - topic.partitions)
        topic.partitions = total
        self.save()
        return topic

    def set_configs(self, name: str, configs: dict[str, str]) -> None:
        self.topics[name].configs = dict(configs)
        self.save()
