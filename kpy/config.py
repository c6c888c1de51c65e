"""Broker and topic configuration: one table of known keys, server.properties parsing.

Key names, types and defaults are Kafka's. Broker keys that set a topic default (for
example ``log.retention.hours`` -> ``retention.ms``) are listed as synonyms of the topic key,
in Kafka's priority order, so DescribeConfigs can report where a value came from.
Keys that only matter to a multi-node Kafka (controller quorum, thread pools) are accepted
and ignored, so Kafka's own sample configs load unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpy.protocol.error_codes import ErrorCode, KafkaError

log = logging.getLogger("kpy.config")


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key and value."""


# DescribeConfigs ConfigSource values.
SOURCE_UNKNOWN = 0
SOURCE_DYNAMIC_TOPIC = 1
SOURCE_DYNAMIC_BROKER = 2
SOURCE_DYNAMIC_DEFAULT_BROKER = 3
SOURCE_STATIC_BROKER = 4
SOURCE_DEFAULT = 5

# DescribeConfigs ConfigType values (v3+).
TYPE_IDS = {
    "boolean": 1,
    "string": 2,
    "int": 3,
    "short": 4,
    "long": 5,
    "double": 6,
    "list": 7,
    "class": 8,
    "password": 9,
}

MS_PER_HOUR = 3_600_000
MS_PER_MINUTE = 60_000
INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    type: str  # boolean, string, int, short, long, double, list, password
    default: Any
    scope: str = "broker"  # broker | topic
    validator: Callable[[Any], str | None] | None = None
    read_only: bool = True
    sensitive: bool = False
    ignored: bool = False  # accepted for compatibility, has no effect in kpy


def at_least(lo: float) -> Callable[[Any], str | None]:
    return lambda v: None if v >= lo else f"must be at least {lo}"


def between(lo: float, hi: float) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else f"must be between {lo} and {hi}"


def one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"


def list_of(*choices: str) -> Callable[[Any], str | None]:
    def check(v: list[str]) -> str | None:
        bad = [x for x in v if x not in choices]
        if bad or not v:
            return f"must be a non-empty list of {', '.join(choices)}"
        return None

    return check


_COMPRESSION = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
_TS_TYPES = ("CreateTime", "LogAppendTime")

# Topic-level keys and the broker keys that set their defaults, highest priority first.
TOPIC_KEYS: list[tuple[Key, list[str]]] = [
    (
        Key("cleanup.policy", "list", ["delete"], "topic", list_of("delete", "compact")),
        ["log.cleanup.policy"],
    ),
    (
        Key("compression.type", "string", "producer", "topic", one_of(*_COMPRESSION)),
        ["compression.type"],
    ),
    (Key("compression.gzip.level", "int", -1, "topic"), ["compression.gzip.level"]),
    (Key("compression.lz4.level", "int", 9, "topic"), ["compression.lz4.level"]),
    (Key("compression.zstd.level", "int", 3, "topic"), ["compression.zstd.level"]),
    (
        Key("delete.retention.ms", "long", 86_400_000, "topic", at_least(0)),
        ["log.cleaner.delete.retention.ms"],
    ),
    (
        Key("file.delete.delay.ms", "long", 60_000, "topic", at_least(0)),
        ["log.segment.delete.delay.ms"],
    ),
    (
        Key("flush.messages", "long", LONG_MAX, "topic", at_least(1)),
        ["log.flush.interval.messages"],
    ),
    (
        Key("flush.ms", "long", LONG_MAX, "topic", at_least(0)),
        ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
    ),
    (Key("index.interval.bytes", "int", 4096, "topic", at_least(0)), ["log.index.interval.bytes"]),
    (
        Key("max.compaction.lag.ms", "long", LONG_MAX, "topic", at_least(1)),
        ["log.cleaner.max.compaction.lag.ms"],
    ),
    (Key("max.message.bytes", "int", 1_048_588, "topic", at_least(0)), ["message.max.bytes"]),
    (
        Key("message.timestamp.after.max.ms", "long", 3_600_000, "topic", at_least(0)),
        ["log.message.timestamp.after.max.ms"],
    ),
    (
        Key("message.timestamp.before.max.ms", "long", LONG_MAX, "topic", at_least(0)),
        ["log.message.timestamp.before.max.ms"],
    ),
    (
        Key("message.timestamp.type", "string", "CreateTime", "topic", one_of(*_TS_TYPES)),
        ["log.message.timestamp.type"],
    ),
    (
        Key("min.cleanable.dirty.ratio", "double", 0.5, "topic", between(0, 1)),
        ["log.cleaner.min.cleanable.ratio"],
    ),
    (
        Key("min.compaction.lag.ms", "long", 0, "topic", at_least(0)),
        ["log.cleaner.min.compaction.lag.ms"],
    ),
    (Key("min.insync.replicas", "int", 1, "topic", at_least(1)), ["min.insync.replicas"]),
    (Key("preallocate", "boolean", False, "topic"), ["log.preallocate"]),
    (Key("retention.bytes", "long", -1, "topic"), ["log.retention.bytes"]),
    (
        Key("retention.ms", "long", 604_800_000, "topic", at_least(-1)),
        ["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
    ),
    (Key("segment.bytes", "int", 1_073_741_824, "topic", at_least(14)), ["log.segment.bytes"]),
    (
        Key("segment.index.bytes", "int", 10_485_760, "topic", at_least(8)),
        ["log.index.size.max.bytes"],
    ),
    (
        Key("segment.jitter.ms", "long", 0, "topic", at_least(0)),
        ["log.roll.jitter.ms", "log.roll.jitter.hours"],
    ),
    (
        Key("segment.ms", "long", 604_800_000, "topic", at_least(1)),
        ["log.roll.ms", "log.roll.hours"],
    ),
    (
        Key("unclean.leader.election.enable", "boolean", False, "topic"),
        ["unclean.leader.election.enable"],
    ),
    (Key("message.downconversion.enable", "boolean", True, "topic"), []),
    (Key("local.retention.bytes", "long", -2, "topic"), ["log.local.retention.bytes"]),
    (Key("local.retention.ms", "long", -2, "topic"), ["log.local.retention.ms"]),
    (Key("remote.storage.enable", "boolean", False, "topic"), []),
    (Key("follower.replication.throttled.replicas", "list", [], "topic"), []),
    (Key("leader.replication.throttled.replicas", "list", [], "topic"), []),
]

# Broker keys whose unit differs from the topic key they feed (value -> topic value).
_UNIT = {
    "log.retention.minutes": MS_PER_MINUTE,
    "log.retention.hours": MS_PER_HOUR,
    "log.roll.hours": MS_PER_HOUR,
    "log.roll.jitter.hours": MS_PER_HOUR,
}

BROKER_KEYS: list[Key] = [
    Key("listeners", "list", ["PLAINTEXT://:9092"]),
    Key("advertised.listeners", "list", None),
    Key(
        "listener.security.protocol.map",
        "list",
        [
            "PLAINTEXT:PLAINTEXT",
            "SSL:SSL",
            "SASL_PLAINTEXT:SASL_PLAINTEXT",
            "SASL_SSL:SASL_SSL",
            "CONTROLLER:PLAINTEXT",
        ],
    ),
    Key("log.dirs", "list", None),
    Key("log.dir", "string", "/tmp/kafka-logs"),
    Key("node.id", "int", -1),
    Key("broker.id", "int", -1),
    Key("num.partitions", "int", 1, validator=at_least(1), read_only=False),
    Key("default.replication.factor", "int", 1, validator=at_least(1)),
    Key("auto.create.topics.enable", "boolean", True),
    Key("delete.topic.enable", "boolean", True),
    Key("group.initial.rebalance.delay.ms", "int", 3000, validator=at_least(0)),
    Key("group.min.session.timeout.ms", "int", 6000, validator=at_least(0)),
    Key("group.max.session.timeout.ms", "int", 1_800_000, validator=at_least(0)),
    Key("group.max.size", "int", INT_MAX, validator=at_least(1)),
    Key("group.consumer.session.timeout.ms", "int", 45_000, validator=at_least(1)),
    Key("group.consumer.heartbeat.interval.ms", "int", 5000, validator=at_least(1)),
    Key("group.consumer.min.session.timeout.ms", "int", 45_000, validator=at_least(1)),
    Key("group.consumer.max.session.timeout.ms", "int", 60_000, validator=at_least(1)),
    Key("group.consumer.max.size", "int", INT_MAX, validator=at_least(1)),
    Key("group.consumer.assignors", "list", ["uniform", "range"]),
    Key("group.coordinator.rebalance.protocols", "list", ["classic", "consumer"]),
    Key("offsets.topic.num.partitions", "int", 50, validator=at_least(1)),
    Key("offsets.topic.replication.factor", "short", 3, validator=at_least(1)),
    Key("offsets.topic.segment.bytes", "int", 104_857_600, validator=at_least(1)),
    Key("offsets.retention.minutes", "int", 10_080, validator=at_least(1)),
    Key("offsets.retention.check.interval.ms", "long", 600_000, validator=at_least(1)),
    Key("offsets.commit.timeout.ms", "int", 5000, validator=at_least(1)),
    Key("offset.metadata.max.bytes", "int", 4096),
    Key("transaction.state.log.num.partitions", "int", 50, validator=at_least(1)),
    Key("transaction.state.log.segment.bytes", "int", 104_857_600, validator=at_least(1)),
    Key("transaction.max.timeout.ms", "int", 900_000, validator=at_least(1)),
    Key("transactional.id.expiration.ms", "int", 604_800_000, validator=at_least(1)),
    Key(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "int",
        10_000,
        validator=at_least(1),
    ),
    Key(
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        "int",
        3_600_000,
        validator=at_least(1),
    ),
    Key("producer.id.expiration.ms", "int", 86_400_000, validator=at_least(1)),
    Key("socket.request.max.bytes", "int", 104_857_600, validator=at_least(1)),
    Key("max.connections", "int", INT_MAX, validator=at_least(0), read_only=False),
    Key("connections.max.idle.ms", "long", 600_000),
    Key("queued.max.requests", "int", 500, validator=at_least(1)),
    Key("log.retention.check.interval.ms", "long", 300_000, validator=at_least(1)),
    Key("log.cleaner.enable", "boolean", True),
    Key("log.cleaner.backoff.ms", "long", 15_000, validator=at_least(0)),
    Key("log.flush.offset.checkpoint.interval.ms", "int", 60_000, validator=at_least(0)),
    Key("log.flush.start.offset.checkpoint.interval.ms", "int", 60_000, validator=at_least(0)),
    Key("fetch.max.bytes", "int", 57_671_680, validator=at_least(0)),
    Key("max.incremental.fetch.session.cache.slots", "int", 1000, validator=at_least(0)),
    Key("cluster.id", "string", None),
]

# Keys that configure parts of a Kafka cluster kpy does not have; accepted and ignored.
IGNORED_KEYS = [
    "process.roles",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "controller.listener.names",
    "inter.broker.listener.name",
    "num.network.threads",
    "num.io.threads",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "num.recovery.threads.per.data.dir",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
    "num.replica.fetchers",
    "replica.lag.time.max.ms",
    "metadata.log.dir",
    "zookeeper.connect",
    "zookeeper.connection.timeout.ms",
    "log.cleaner.threads",
    "background.threads",
    "authorizer.class.name",
    "super.users",
    "sasl.enabled.mechanisms",
    "sasl.mechanism.inter.broker.protocol",
    "sasl.mechanism.controller.protocol",
    "confluent.support.metrics.enable",
    "group.share.enable",
    "unstable.api.versions.enable",
    "unstable.feature.versions.enable",
    "auto.leader.rebalance.enable",
    "controlled.shutdown.enable",
    "metric.reporters",
]

KEYS: dict[str, Key] = {}
for _key, _synonyms in TOPIC_KEYS:
    KEYS[_key.name] = _key
for _key in BROKER_KEYS:
    KEYS[_key.name] = _key
for _name in IGNORED_KEYS:
    KEYS[_name] = Key(_name, "string", None, ignored=True)
TOPIC_SYNONYMS: dict[str, list[str]] = {k.name: syn for k, syn in TOPIC_KEYS}
# Broker-level synonyms of topic keys get the topic key's type and validator.
_BROKER_SYNONYM_OF: dict[str, str] = {}
for _topic_key, _synonyms in TOPIC_KEYS:
    for _syn in _synonyms:
        _BROKER_SYNONYM_OF[_syn] = _topic_key.name
        if _syn not in KEYS:
            _t = _topic_key.type
            KEYS[_syn] = Key(
                _syn, _t, None, "broker", _topic_key.validator if _syn not in _UNIT else None
            )
# Broker-level defaults of synonyms that Kafka documents with their own default value.
_BROKER_DEFAULTS = {"log.retention.hours": 168, "log.roll.hours": 168}


def parse_value(key: Key, raw: Any) -> Any:
    """Convert a string (or already-typed value) to the key's type; ConfigError if invalid."""
    if raw is None:
        return None
    try:
        if key.type == "boolean":
            if isinstance(raw, bool):
                value: Any = raw
            elif str(raw).strip().lower() in ("true", "false"):
                value = str(raw).strip().lower() == "true"
            else:
                raise ValueError("expected true or false")
        elif key.type in ("int", "short", "long"):
            value = int(str(raw).strip())
            if key.type == "int" and not -(2**31) <= value <= INT_MAX:
                raise ValueError("out of int range")
        elif key.type == "double":
            value = float(str(raw).strip())
        elif key.type == "list":
            if isinstance(raw, list):
                value = raw
            else:
                value = [x.strip() for x in str(raw).split(",") if x.strip()]
        else:
            value = str(raw)
    except ValueError as exc:
        raise ConfigError(f"invalid value {raw!r} for {key.name}: {exc}") from exc
    if key.validator is not None and value is not None:
        problem = key.validator(value)
        if problem:
            raise ConfigError(f"invalid value {raw!r} for {key.name}: {problem}")
    return value


def format_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def parse_properties(text: str) -> dict[str, str]:
    """Parse Java .properties text: comments, separators '=', ':' or space, continuations."""
    props: dict[str, str] = {}
    logical: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].lstrip()
        i += 1
        if not line or line[0] in "#!":
            continue
        # A line ending in an odd number of backslashes continues on the next line.
        while _continues(line) and i < len(lines):
            line = line[:-1] + lines[i].lstrip()
            i += 1
        if _continues(line):
            line = line[:-1]
        logical.append(line)
    for line in logical:
        key, value = _split_property(line)
        props[_unescape(key)] = _unescape(value)
    return props


def _continues(line: str) -> bool:
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _split_property(line: str) -> tuple[str, str]:
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c in "=: \t\f":
            break
        i += 1
    key = line[:i]
    j = i
    while j < n and line[j] in " \t\f":
        j += 1
    if j < n and line[j] in "=:":
        j += 1
    while j < n and line[j] in " \t\f":
        j += 1
    return key, line[j:]


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(s: str) -> str:
    if "\\" not in s:
        return s

    def repl(m: re.Match[str]) -> str:
        c = m.group(1)
        if c.startswith("u"):
            return chr(int(c[1:], 16))
        return _ESCAPES.get(c, c)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", repl, s)


@dataclass(frozen=True, slots=True)
class Listener:
    name: str
    host: str
    port: int
    security_protocol: str = "PLAINTEXT"


def parse_listeners(entries: list[str], protocol_map: dict[str, str], key: str) -> list[Listener]:
    result = []
    for entry in entries:
        m = re.fullmatch(r"([A-Za-z0-9_]+)://(\[[^\]]*\]|[^:]*):(\d+)", entry.strip())
        if not m:
            raise ConfigError(f"invalid value {entry!r} in {key}: expected NAME://host:port")
        name, host, port = m.group(1).upper(), m.group(2).strip("[]"), int(m.group(3))
        protocol = protocol_map.get(name, name)
        if protocol != "PLAINTEXT":
            raise ConfigError(
                f"listener {entry!r} in {key} uses {protocol}; kpy supports PLAINTEXT only"
            )
        result.append(Listener(name, host, port, protocol))
    return result


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One row of a DescribeConfigs answer."""

    name: str
    value: str | None
    source: int
    read_only: bool
    sensitive: bool
    type: int
    synonyms: list[tuple[str, str | None, int]] = field(default_factory=list)


class Config:
    """The broker's static configuration (server.properties plus --override values)."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._explicit: dict[str, Any] = {}
        for name, raw in (values or {}).items():
            key = KEYS.get(name)
            if key is None:
                log.warning("unknown config %s=%s is ignored", name, raw)
                continue
            if key.ignored:
                continue
            self._explicit[name] = parse_value(key, raw)
        if self.node_id() < 0:
            self._explicit["node.id"] = 1
        protocol_map = dict(
            x.split(":", 1) for x in self.get("listener.security.protocol.map") if ":" in x
        )
        self._listeners = parse_listeners(self.get("listeners"), protocol_map, "listeners")
        if not self._listeners:
            raise ConfigError("listeners is empty: at least one PLAINTEXT listener is needed")
        adv = self._explicit.get("advertised.listeners")
        self._advertised = (
            parse_listeners(adv, protocol_map, "advertised.listeners") if adv else self._listeners
        )
        self.generation = 0  # bumped by every dynamic change, so caches can tell
        # Validate the effective topic defaults once, at start-up.
        self._topic_defaults = {name: self._topic_default(name)[0] for name in TOPIC_SYNONYMS}

    @classmethod
    def from_file(
        cls, path: str | Path | None, overrides: Mapping[str, Any] | None = None
    ) -> Config:
        values: dict[str, Any] = {}
        if path is not None:
            try:
                values.update(parse_properties(Path(path).read_text()))
            except OSError as exc:
                raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        values.update(overrides or {})
        return cls(values)

    def get(self, name: str) -> Any:
        if name in self._explicit:
            return self._explicit[name]
        key = KEYS[name]
        if name in _BROKER_DEFAULTS:
            return _BROKER_DEFAULTS[name]
        return key.default

    def is_set(self, name: str) -> bool:
        return name in self._explicit

    def set_dynamic(self, name: str, raw: Any) -> None:
        """Apply a broker-level dynamic update (AlterConfigs on the broker resource)."""
        key = KEYS.get(name)
        if key is None or key.read_only and name not in _BROKER_SYNONYM_OF:
            raise KafkaError(ErrorCode.INVALID_CONFIG, f"cannot update broker config {name}")
        try:
            self._explicit[name] = parse_value(key, raw)
        except ConfigError as exc:
            raise KafkaError(ErrorCode.INVALID_CONFIG, str(exc)) from exc
        self._topic_defaults = {n: self._topic_default(n)[0] for n in TOPIC_SYNONYMS}
        self.generation += 1

    def node_id(self) -> int:
        node = self._explicit.get("node.id", -1)
        return node if node >= 0 else self._explicit.get("broker.id", -1)

    def log_dirs(self) -> list[str]:
        dirs = self._explicit.get("log.dirs") or [self.get("log.dir")]
        return list(dirs)

    def listeners(self) -> list[Listener]:
        return list(self._listeners)

    def advertised_listeners(self) -> list[Listener]:
        return list(self._advertised)

    # -- topic-level configuration ---------------------------------------------------------

    def _topic_default(self, name: str) -> tuple[Any, int, str | None]:
        """(value, source, broker key) of the default for topic key ``name``."""
        for syn in TOPIC_SYNONYMS[name]:
            if syn in self._explicit:
                return self._explicit[syn] * _UNIT.get(syn, 1), SOURCE_STATIC_BROKER, syn
        return KEYS[name].default, SOURCE_DEFAULT, None

    def topic_defaults(self) -> dict[str, Any]:
        return dict(self._topic_defaults)

    def effective_topic_config(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        config = dict(self._topic_defaults)
        for name, raw in overrides.items():
            if name in config:
                config[name] = parse_value(KEYS[name], raw)
        return config

    def describe_topic_config(self, overrides: Mapping[str, Any]) -> Iterator[ConfigEntry]:
        for key, synonyms in TOPIC_KEYS:
            syns: list[tuple[str, str | None, int]] = []
            value, source, _ = self._topic_default(key.name)
            if key.name in overrides:
                value = parse_value(key, overrides[key.name])
                source = SOURCE_DYNAMIC_TOPIC
                syns.append((key.name, format_value(value), SOURCE_DYNAMIC_TOPIC))
            for syn in synonyms:
                if syn in self._explicit:
                    syns.append((syn, format_value(self._explicit[syn]), SOURCE_STATIC_BROKER))
            syns.append(
                (synonyms[0] if synonyms else key.name, format_value(key.default), SOURCE_DEFAULT)
            )
            yield ConfigEntry(
                key.name,
                format_value(value),
                source,
                False,
                key.sensitive,
                TYPE_IDS.get(key.type, 0),
                syns,
            )

    def describe_broker_config(self) -> Iterator[ConfigEntry]:
        for name in sorted(KEYS):
            key = KEYS[name]
            if key.scope != "broker" or key.ignored:
                continue
            value = self.get(name)
            if name in _BROKER_SYNONYM_OF and value is None:
                topic_key = _BROKER_SYNONYM_OF[name]
                value = (
                    KEYS[topic_key].default // _UNIT.get(name, 1)
                    if name in _UNIT
                    else KEYS[topic_key].default
                )
            source = SOURCE_STATIC_BROKER if name in self._explicit else SOURCE_DEFAULT
            shown = None if key.sensitive else format_value(value)
            yield ConfigEntry(
                name,
                shown,
                source,
                key.read_only,
                key.sensitive,
                TYPE_IDS.get(key.type, 0),
                [(name, shown, source)],
            )


def validate_topic_config(configs: Mapping[str, Any]) -> dict[str, Any]:
    """Check topic-level overrides; KafkaError(INVALID_CONFIG) names the bad key or value."""
    parsed = {}
    for name, raw in configs.items():
        if name not in TOPIC_SYNONYMS:
            raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")
        if raw is None:
            raise KafkaError(
                ErrorCode.INVALID_CONFIG, f"Null value not supported for topic config {name}"
            )
        try:
            parsed[name] = parse_value(KEYS[name], raw)
        except ConfigError as exc:
            raise KafkaError(ErrorCode.INVALID_CONFIG, str(exc)) from exc
    return parsed
