"""The table of config keys kpy knows: Kafka's names, types, defaults, valid values and scope.

Topic-level keys (Kafka's LogConfig) list the broker keys that set their defaults ("synonyms"),
highest priority first. Broker keys carry Kafka's own defaults (None where Kafka's is null)
and say whether AlterConfigs may change them at run time. Keys that configure parts of a
Kafka cluster kpy does not have are listed as ignored. ``kpy.config`` interprets this table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# DescribeConfigs ConfigSource (DescribeConfigsResponse.ConfigSource in Kafka).
SOURCE_UNKNOWN = 0
SOURCE_DYNAMIC_TOPIC = 1  # TOPIC_CONFIG
SOURCE_DYNAMIC_BROKER = 2  # DYNAMIC_BROKER_CONFIG (this broker's id)
SOURCE_DYNAMIC_DEFAULT_BROKER = 3  # DYNAMIC_DEFAULT_BROKER_CONFIG (cluster-wide, empty name)
SOURCE_STATIC_BROKER = 4  # server.properties / --override
SOURCE_DEFAULT = 5  # Kafka's default
SOURCE_DYNAMIC_BROKER_LOGGER = 6
SOURCE_CLIENT_METRICS = 7
SOURCE_GROUP = 8

# DescribeConfigs ConfigType (v3+).
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
INT_RANGES = {
    "short": (-(2**15), 2**15 - 1),
    "int": (-(2**31), INT_MAX),
    "long": (-(2**63), LONG_MAX),
}

Validator = Callable[[Any], str | None]


@dataclass(frozen=True, slots=True)
class Key:
    """One known config key. ``default`` is the typed default (None = Kafka's null)."""

    name: str
    type: str  # boolean, string, int, short, long, double, list, class, password
    default: Any
    scope: str = "broker"  # broker | topic
    validator: Validator | None = None
    read_only: bool = True  # broker keys: not alterable at run time (topic keys always are)
    sensitive: bool = False
    ignored: bool = False  # accepted for compatibility, has no effect in kpy
    synonyms: tuple[str, ...] = ()  # topic keys: broker keys setting the default, by priority
    unit: int = 1  # broker keys: factor to the topic key's unit (log.retention.hours -> ms)


def at_least(lo: float) -> Validator:
    return lambda v: None if v >= lo else f"Value must be at least {lo}"


def between(lo: float, hi: float) -> Validator:
    return lambda v: (
        None if lo <= v <= hi else f"Value must be no less than {lo} and no more than {hi}"
    )


def one_of(*choices: str) -> Validator:
    return lambda v: None if v in choices else f"String must be one of: {', '.join(choices)}"


def list_of(*choices: str) -> Validator:
    def check(v: list[str]) -> str | None:
        bad = [x for x in v if x not in choices]
        if bad:
            return f"Invalid value {bad[0]}; must be one of [{', '.join(choices)}]"
        if not v:
            return "Empty list is not allowed"
        return None

    return check


def _gzip_level(v: int) -> str | None:
    return None if v == -1 or 1 <= v <= 9 else "Value must be -1 or between 1 and 9"


def _throttled_replicas(v: list[str]) -> str | None:
    if v == ["*"] or all(re.fullmatch(r"\d+:\d+", x) for x in v):
        return None
    return "Value must be '*' or a list of partition:brokerId pairs"


_COMPRESSION = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
_TS_TYPES = ("CreateTime", "LogAppendTime")


def _t(name: str, type_: str, default: Any, v: Validator | None, synonyms: str = "") -> Key:
    return Key(name, type_, default, "topic", v, read_only=False, synonyms=tuple(synonyms.split()))


def _b(name: str, type_: str, default: Any, v: Validator | None = None, mode: str = "") -> Key:
    """mode: "dyn" = alterable at run time; "h"/"m" = a topic synonym in hours/minutes."""
    unit = {"h": MS_PER_HOUR, "m": MS_PER_MINUTE}.get(mode, 1)
    return Key(name, type_, default, "broker", v, read_only=mode != "dyn", unit=unit)


NONNEG, POS = at_least(0), at_least(1)

# fmt: off
# Topic-level keys (Kafka's LogConfig) and the broker keys that set their defaults, by priority.
_TOPIC_TABLE = [
    _t("cleanup.policy",             "list",    ["delete"],    list_of("delete", "compact"), "log.cleanup.policy"),
    _t("compression.type",           "string",  "producer",    one_of(*_COMPRESSION),   "compression.type"),
    _t("compression.gzip.level",     "int",     -1,            _gzip_level,             "compression.gzip.level"),
    _t("compression.lz4.level",      "int",     9,             between(1, 17),          "compression.lz4.level"),
    _t("compression.zstd.level",     "int",     3,             between(-131072, 22),    "compression.zstd.level"),
    _t("delete.retention.ms",        "long",    86_400_000,    NONNEG,                  "log.cleaner.delete.retention.ms"),
    _t("file.delete.delay.ms",       "long",    60_000,        NONNEG,                  "log.segment.delete.delay.ms"),
    _t("flush.messages",             "long",    LONG_MAX,      POS,                     "log.flush.interval.messages"),
    _t("flush.ms",                   "long",    LONG_MAX,      NONNEG,                  "log.flush.interval.ms log.flush.scheduler.interval.ms"),
    _t("follower.replication.throttled.replicas", "list", [],  _throttled_replicas),
    _t("index.interval.bytes",       "int",     4096,          NONNEG,                  "log.index.interval.bytes"),
    _t("leader.replication.throttled.replicas",   "list", [],  _throttled_replicas),
    _t("local.retention.bytes",      "long",    -2,            at_least(-2),            "log.local.retention.bytes"),
    _t("local.retention.ms",         "long",    -2,            at_least(-2),            "log.local.retention.ms"),
    _t("max.compaction.lag.ms",      "long",    LONG_MAX,      POS,                     "log.cleaner.max.compaction.lag.ms"),
    _t("max.message.bytes",          "int",     1_048_588,     NONNEG,                  "message.max.bytes"),
    _t("message.downconversion.enable", "boolean", True,       None,                    "log.message.downconversion.enable"),
    # Kafka 4.0 (KIP-1030) lowered this default from Long.MAX_VALUE to one hour.
    _t("message.timestamp.after.max.ms",  "long", 3_600_000,   NONNEG,                  "log.message.timestamp.after.max.ms"),
    _t("message.timestamp.before.max.ms", "long", LONG_MAX,    NONNEG,                  "log.message.timestamp.before.max.ms"),
    _t("message.timestamp.type",     "string",  "CreateTime",  one_of(*_TS_TYPES),      "log.message.timestamp.type"),
    _t("min.cleanable.dirty.ratio",  "double",  0.5,           between(0, 1),           "log.cleaner.min.cleanable.ratio"),
    _t("min.compaction.lag.ms",      "long",    0,             NONNEG,                  "log.cleaner.min.compaction.lag.ms"),
    _t("min.insync.replicas",        "int",     1,             POS,                     "min.insync.replicas"),
    _t("preallocate",                "boolean", False,         None,                    "log.preallocate"),
    _t("remote.log.copy.disable",    "boolean", False,         None),
    _t("remote.log.delete.on.disable", "boolean", False,       None),
    _t("remote.storage.enable",      "boolean", False,         None),
    _t("retention.bytes",            "long",    -1,            None,                    "log.retention.bytes"),
    _t("retention.ms",               "long",    604_800_000,   at_least(-1),            "log.retention.ms log.retention.minutes log.retention.hours"),
    # Kafka 4.0 (KIP-1030) raised the minimum from 14 bytes to 1 MiB.
    _t("segment.bytes",              "int",     1_073_741_824, at_least(1_048_576),     "log.segment.bytes"),
    _t("segment.index.bytes",        "int",     10_485_760,    at_least(4),             "log.index.size.max.bytes"),
    _t("segment.jitter.ms",          "long",    0,             NONNEG,                  "log.roll.jitter.ms log.roll.jitter.hours"),
    _t("segment.ms",                 "long",    604_800_000,   POS,                     "log.roll.ms log.roll.hours"),
    _t("unclean.leader.election.enable", "boolean", False,     None,                    "unclean.leader.election.enable"),
]

# Broker keys with Kafka's defaults (None = Kafka's null). "dyn": alterable at run time by
# AlterConfigs on the broker resource, as in Kafka (the primary broker synonym of each topic
# key, connection limits, cleaner backoff, producer id expiration).
_BROKER_TABLE = [
    # Listeners and identity.
    _b("listeners",                      "string", "PLAINTEXT://:9092"),
    _b("advertised.listeners",           "string", None),
    _b("listener.security.protocol.map", "string", "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"),
    _b("controller.listener.names",      "string", None),
    _b("node.id",                        "int",    -1),
    _b("broker.id",                      "int",    -1),
    _b("cluster.id",                     "string", None),  # kpy only: the id of a new data dir
    _b("log.dirs",                       "string", None),
    _b("log.dir",                        "string", "/tmp/kafka-logs"),
    # Topic creation.
    _b("num.partitions",                 "int",     1,      POS),
    _b("default.replication.factor",     "int",     1,      POS),
    _b("auto.create.topics.enable",      "boolean", True),
    _b("delete.topic.enable",            "boolean", True),
    # Broker synonyms of topic keys.
    _b("log.cleanup.policy",             "list",   ["delete"], list_of("delete", "compact"), "dyn"),
    _b("compression.type",               "string", "producer", one_of(*_COMPRESSION), "dyn"),
    _b("compression.gzip.level",         "int",    -1,         _gzip_level,           "dyn"),
    _b("compression.lz4.level",          "int",    9,          between(1, 17),        "dyn"),
    _b("compression.zstd.level",         "int",    3,          between(-131072, 22),  "dyn"),
    _b("log.cleaner.delete.retention.ms",    "long", 86_400_000, NONNEG,       "dyn"),
    _b("log.segment.delete.delay.ms",        "long", 60_000,     NONNEG,       "dyn"),
    _b("log.flush.interval.messages",        "long", LONG_MAX,   POS,          "dyn"),
    _b("log.flush.interval.ms",              "long", None,       NONNEG,       "dyn"),
    _b("log.flush.scheduler.interval.ms",    "long", LONG_MAX,   NONNEG),
    _b("log.index.interval.bytes",           "int",  4096,       NONNEG,       "dyn"),
    _b("log.local.retention.bytes",          "long", -2,         at_least(-2), "dyn"),
    _b("log.local.retention.ms",             "long", -2,         at_least(-2), "dyn"),
    _b("log.cleaner.max.compaction.lag.ms",  "long", LONG_MAX,   POS,          "dyn"),
    _b("message.max.bytes",                  "int",  1_048_588,  NONNEG,       "dyn"),
    _b("log.message.downconversion.enable",  "boolean", True,    None,         "dyn"),
    _b("log.message.timestamp.after.max.ms", "long", 3_600_000,  NONNEG,       "dyn"),
    _b("log.message.timestamp.before.max.ms", "long", LONG_MAX,  NONNEG,       "dyn"),
    _b("log.message.timestamp.type",         "string", "CreateTime", one_of(*_TS_TYPES), "dyn"),
    _b("log.cleaner.min.cleanable.ratio",    "double", 0.5,      between(0, 1), "dyn"),
    _b("log.cleaner.min.compaction.lag.ms",  "long", 0,          NONNEG,       "dyn"),
    _b("min.insync.replicas",                "int",  1,          POS,          "dyn"),
    _b("log.preallocate",                    "boolean", False,   None,         "dyn"),
    _b("log.retention.bytes",                "long", -1,         None,         "dyn"),
    _b("log.retention.ms",                   "long", None,       at_least(-1), "dyn"),
    _b("log.retention.minutes",              "int",  None,       at_least(-1), "m"),
    _b("log.retention.hours",                "int",  168,        at_least(-1), "h"),
    _b("log.segment.bytes",                  "int",  1_073_741_824, at_least(1_048_576), "dyn"),
    _b("log.index.size.max.bytes",           "int",  10_485_760, at_least(4),  "dyn"),
    _b("log.roll.jitter.ms",                 "long", None,       NONNEG,       "dyn"),
    _b("log.roll.jitter.hours",              "int",  0,          NONNEG,       "h"),
    _b("log.roll.ms",                        "long", None,       POS,          "dyn"),
    _b("log.roll.hours",                     "int",  168,        POS,          "h"),
    _b("unclean.leader.election.enable",     "boolean", False,   None,         "dyn"),
    # Log manager.
    _b("log.retention.check.interval.ms",    "long", 300_000,    POS),
    _b("log.cleaner.enable",                 "boolean", True),
    _b("log.cleaner.backoff.ms",             "long", 15_000,     NONNEG,       "dyn"),
    _b("log.flush.offset.checkpoint.interval.ms",       "int", 60_000, NONNEG),
    _b("log.flush.start.offset.checkpoint.interval.ms", "int", 60_000, NONNEG),
    # Group coordinator.
    _b("group.initial.rebalance.delay.ms",       "int",  3000,       NONNEG),
    _b("group.min.session.timeout.ms",           "int",  6000,       NONNEG),
    _b("group.max.session.timeout.ms",           "int",  1_800_000,  NONNEG),
    _b("group.max.size",                         "int",  INT_MAX,    POS),
    _b("group.consumer.session.timeout.ms",      "int",  45_000,     POS),
    _b("group.consumer.heartbeat.interval.ms",   "int",  5000,       POS),
    _b("group.consumer.min.session.timeout.ms",  "int",  45_000,     POS),
    _b("group.consumer.max.session.timeout.ms",  "int",  60_000,     POS),
    _b("group.consumer.max.size",                "int",  INT_MAX,    POS),
    _b("group.consumer.assignors",               "list", ["uniform", "range"]),
    _b("group.coordinator.rebalance.protocols",  "list", ["classic", "consumer"]),
    _b("offsets.topic.num.partitions",           "int",  50,         POS),
    _b("offsets.topic.replication.factor",       "short", 3,         POS),
    _b("offsets.topic.segment.bytes",            "int",  104_857_600, POS),
    _b("offsets.retention.minutes",              "int",  10_080,     POS),
    _b("offsets.retention.check.interval.ms",    "long", 600_000,    POS),
    _b("offsets.commit.timeout.ms",              "int",  5000,       POS),
    _b("offset.metadata.max.bytes",              "int",  4096),
    # Transactions and producer ids.
    _b("transaction.state.log.num.partitions",   "int",  50,         POS),
    _b("transaction.state.log.segment.bytes",    "int",  104_857_600, POS),
    _b("transaction.max.timeout.ms",             "int",  900_000,    POS),
    _b("transactional.id.expiration.ms",         "int",  604_800_000, POS),
    _b("transaction.abort.timed.out.transaction.cleanup.interval.ms", "int", 10_000, POS),
    _b("transaction.remove.expired.transaction.cleanup.interval.ms",  "int", 3_600_000, POS),
    _b("producer.id.expiration.ms",              "int",  86_400_000, POS,          "dyn"),
    # Network and requests.
    _b("socket.request.max.bytes",               "int",  104_857_600, POS),
    _b("max.connections",                        "int",  INT_MAX,    NONNEG,       "dyn"),
    _b("connections.max.idle.ms",                "long", 600_000),
    _b("queued.max.requests",                    "int",  500,        POS),
    _b("fetch.max.bytes",                        "int",  57_671_680, at_least(1024)),
    _b("max.incremental.fetch.session.cache.slots", "int", 1000,     NONNEG),
]
# fmt: on

# Keys of a Kafka cluster that kpy (one process, one event loop, one replica, no security
# plug-ins) has no use for. Accepted silently so Kafka's sample configs load unchanged.
IGNORED_KEYS = [
    # KRaft quorum and roles: kpy is always one combined node.
    "process.roles",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "inter.broker.listener.name",
    "metadata.log.dir",
    "zookeeper.connect",
    "zookeeper.connection.timeout.ms",
    # Thread pools and socket buffers: kpy runs on one trio event loop with OS defaults.
    "num.network.threads",
    "num.io.threads",
    "num.recovery.threads.per.data.dir",
    "num.replica.fetchers",
    "background.threads",
    "log.cleaner.threads",
    "log.cleaner.dedupe.buffer.size",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "socket.listen.backlog.size",
    "max.connections.per.ip",
    # Replication and leadership: one broker, one replica.
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
    "replica.lag.time.max.ms",
    "auto.leader.rebalance.enable",
    "controlled.shutdown.enable",
    "broker.rack",
    # Security and metrics plug-ins: kpy serves PLAINTEXT without authorization.
    "authorizer.class.name",
    "super.users",
    "allow.everyone.if.no.acl.found",
    "sasl.enabled.mechanisms",
    "sasl.mechanism.inter.broker.protocol",
    "sasl.mechanism.controller.protocol",
    "metric.reporters",
    "confluent.support.metrics.enable",
    # Feature switches of newer protocols kpy does not implement.
    "group.share.enable",
    "unstable.api.versions.enable",
    "unstable.feature.versions.enable",
    # Removed in Kafka 4.0; older configs still carry it.
    "log.message.timestamp.difference.max.ms",
    "log.message.format.version",
]
# Families of keys ignored the same way (per-listener settings, TLS, SASL, remote storage).
IGNORED_PREFIXES = ("listener.name.", "ssl.", "sasl.", "remote.log.", "metrics.", "log4j.")

TOPIC_KEYS: dict[str, Key] = {k.name: k for k in _TOPIC_TABLE}
BROKER_KEYS: dict[str, Key] = {k.name: k for k in _BROKER_TABLE}
BROKER_KEYS.update((n, Key(n, "string", None, ignored=True)) for n in IGNORED_KEYS)
# Look-up by name; where a name is both a topic and a broker key, the topic key wins (same
# type and validator), as handlers ask about topic keys.
KEYS: dict[str, Key] = {**BROKER_KEYS, **TOPIC_KEYS}
TOPIC_SYNONYMS: dict[str, list[str]] = {k.name: list(k.synonyms) for k in _TOPIC_TABLE}
# The broker keys that Kafka treats as one setting in different units.
_BROKER_GROUPS = [
    ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
    ("log.roll.ms", "log.roll.hours"),
    ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    ("log.flush.interval.ms", "log.flush.scheduler.interval.ms"),
]
GROUP_OF = {name: group for group in _BROKER_GROUPS for name in group}


def is_ignored(name: str) -> bool:
    """True for keys kpy accepts without effect (listed above, or of an ignored family)."""
    key = BROKER_KEYS.get(name)
    return (key is not None and key.ignored) or (key is None and name.startswith(IGNORED_PREFIXES))


def is_sensitive(key: Key) -> bool:
    return key.sensitive or key.type == "password"
