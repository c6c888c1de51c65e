"""The table of config keys kpy knows: Kafka's names, types, defaults, valid values and scope.

Topic-level keys (Kafka's LogConfig) list the broker keys that set their defaults ("synonyms"),
highest priority first. Broker keys carry Kafka's own defaults (None where Kafka's is null)
and say whether AlterConfigs may change them at run time, cluster-wide or only per broker, as
in Kafka 4.4 (its DynamicBrokerConfig). Keys that configure parts of a Kafka cluster kpy does
not have are listed as ignored; those Kafka can change at run time are defined in full (type,
default, range), so that they are validated, stored and described like Kafka's, without effect.
``KAFKA_STATIC_KEYS`` names every other broker key of Kafka 4.4, which AlterConfigs refuses.
``kpy.config`` interprets this table.
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
    per_broker: bool = False  # alterable for one broker id only, not as the cluster default
    sensitive: bool = False
    ignored: bool = False  # accepted for compatibility, has no effect in kpy
    synonyms: tuple[str, ...] = ()  # topic keys: broker keys setting the default, by priority
    unit: int = 1  # broker keys: factor to the topic key's unit (log.retention.hours -> ms)
    described: bool = True  # False for bare names of IGNORED_KEYS (no type or default known)


def at_least(lo: float) -> Validator:
    return lambda v: None if v >= lo else f"Value must be at least {lo}"


def between(lo: float, hi: float) -> Validator:
    return lambda v: (
        f"Value must be at least {lo}"
        if v < lo
        else f"Value must be no more than {hi}"
        if v > hi
        else None
    )


def one_of(*choices: str) -> Validator:
    return lambda v: None if v in choices else f"String must be one of: {', '.join(choices)}"


def list_of(*choices: str, empty: bool = False, unique: bool = False) -> Validator:
    """Items from ``choices``; ``empty``: the empty list is allowed; ``unique``: no item twice
    (Kafka checks that for the broker key log.cleanup.policy, not for the topic key)."""

    def check(v: list[str]) -> str | None:
        bad = [x for x in v if x not in choices]
        if bad:
            return f"{bad[0]} is not allowed; String must be one of: {', '.join(sorted(choices))}"
        if not v and not empty:
            return "Empty list is not allowed"
        if unique and len(set(v)) != len(v):
            return "values must not be duplicated"
        return None

    return check


def _per_ip_overrides(v: str) -> str | None:
    """``host:count,host:count`` (max.connections.per.ip.overrides)."""
    for item in v.split(",") if v.strip() else ():
        host, sep, count = item.strip().rpartition(":")
        if not sep or not re.fullmatch(r"[+-]?[0-9]+", count.strip()):
            return f"{item.strip()!r} is not host:count"
    return None


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
    """mode: "dyn" = alterable at run time, "pb" = only per broker (not as the cluster default);
    "h"/"m" = a topic synonym in hours/minutes."""
    unit = {"h": MS_PER_HOUR, "m": MS_PER_MINUTE}.get(mode, 1)
    dynamic = mode in ("dyn", "pb")
    return Key(
        name, type_, default, "broker", v, read_only=not dynamic, per_broker=mode == "pb", unit=unit
    )


def _x(name: str, type_: str, default: Any, v: Validator | None = None, mode: str = "dyn") -> Key:
    """A key Kafka can change at run time that kpy accepts without effect. mode: "dyn" =
    cluster-wide or per broker, "pb" = per broker only (Kafka's PER_BROKER_CONFIGS)."""
    return Key(
        name, type_, default, "broker", v, read_only=False, per_broker=mode == "pb", ignored=True
    )


NONNEG, POS = at_least(0), at_least(1)


def _words(text: str) -> list[str]:
    return text.split()


# fmt: off
# Topic-level keys (Kafka's LogConfig) and the broker keys that set their defaults, by priority.
_TOPIC_TABLE = [
    # Kafka 4.4 accepts an empty policy: neither deletion by retention nor compaction.
    _t("cleanup.policy",             "list",    ["delete"],    list_of("delete", "compact", empty=True), "log.cleanup.policy"),
    _t("compression.type",           "string",  "producer",    one_of(*_COMPRESSION),   "compression.type"),
    _t("compression.gzip.level",     "int",     -1,            _gzip_level,             "compression.gzip.level"),
    _t("compression.lz4.level",      "int",     9,             between(1, 17),          "compression.lz4.level"),
    _t("compression.zstd.level",     "int",     3,             between(-131072, 22),    "compression.zstd.level"),
    _t("delete.retention.ms",        "long",    86_400_000,    NONNEG,                  "log.cleaner.delete.retention.ms"),
    _t("errors.deadletterqueue.group.enable", "boolean", False, None),
    _t("file.delete.delay.ms",       "long",    60_000,        NONNEG,                  "log.segment.delete.delay.ms"),
    _t("flush.messages",             "long",    LONG_MAX,      POS,                     "log.flush.interval.messages"),
    _t("flush.ms",                   "long",    LONG_MAX,      NONNEG,                  "log.flush.interval.ms log.flush.scheduler.interval.ms"),
    _t("follower.replication.throttled.replicas", "list", [],  _throttled_replicas),
    _t("index.interval.bytes",       "int",     4096,          NONNEG,                  "log.index.interval.bytes"),
    _t("leader.replication.throttled.replicas",   "list", [],  _throttled_replicas),
    _t("local.retention.bytes",      "long",    -2,            at_least(-2),            "log.local.retention.bytes"),
    _t("local.retention.ms",         "long",    -2,            at_least(-2),            "log.local.retention.ms"),
    _t("max.compaction.lag.ms",      "long",    LONG_MAX,      POS,                     "log.cleaner.max.compaction.lag.ms"),
    _t("max.decompressed.message.bytes", "int", 2_147_483_639, POS,                    "max.decompressed.message.bytes"),
    _t("max.message.bytes",          "int",     1_048_588,     NONNEG,                  "message.max.bytes"),
    # Kafka 4.0 (KIP-1030) lowered this default from Long.MAX_VALUE to one hour.
    _t("message.timestamp.after.max.ms",  "long", 3_600_000,   NONNEG,                  "log.message.timestamp.after.max.ms"),
    _t("message.timestamp.before.max.ms", "long", LONG_MAX,    NONNEG,                  "log.message.timestamp.before.max.ms"),
    _t("message.timestamp.type",     "string",  "CreateTime",  one_of(*_TS_TYPES),      "log.message.timestamp.type"),
    _t("min.cleanable.dirty.ratio",  "double",  0.5,           between(0, 1),           "log.cleaner.min.cleanable.ratio"),
    _t("min.compaction.lag.ms",      "long",    0,             NONNEG,                  "log.cleaner.min.compaction.lag.ms"),
    _t("min.insync.replicas",        "int",     1,             POS,                     "min.insync.replicas"),
    _t("preallocate",                "boolean", False,         None,                    "log.preallocate"),
    _t("remote.copy.lag.bytes",      "long",    -1,            at_least(-1),            "log.remote.copy.lag.bytes"),
    _t("remote.copy.lag.ms",         "long",    0,             at_least(-1),            "log.remote.copy.lag.ms"),
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
    _b("listeners",                      "string", "PLAINTEXT://:9092", None, "pb"),
    _b("advertised.listeners",           "string", None),
    _b("listener.security.protocol.map", "string", "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", None, "pb"),
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
    _b("log.cleanup.policy",             "list",   ["delete"], list_of("compact", "delete", empty=True, unique=True), "dyn"),
    _b("compression.type",               "string", "producer", one_of(*_COMPRESSION), "dyn"),
    _b("compression.gzip.level",         "int",    -1,         _gzip_level,           "dyn"),
    _b("compression.lz4.level",          "int",    9,          between(1, 17),        "dyn"),
    _b("compression.zstd.level",         "int",    3,          between(-131072, 22),  "dyn"),
    _b("log.cleaner.delete.retention.ms",    "long", 86_400_000, NONNEG,       "dyn"),
    _b("log.segment.delete.delay.ms",        "long", 60_000,     NONNEG,       "dyn"),
    _b("log.flush.interval.messages",        "long", LONG_MAX,   POS,          "dyn"),
    _b("log.flush.interval.ms",              "long", None,       None,         "dyn"),
    _b("log.flush.scheduler.interval.ms",    "long", LONG_MAX,   NONNEG),
    _b("log.index.interval.bytes",           "int",  4096,       NONNEG,       "dyn"),
    _b("log.local.retention.bytes",          "long", -2,         at_least(-2), "dyn"),
    _b("log.local.retention.ms",             "long", -2,         at_least(-2), "dyn"),
    _b("log.cleaner.max.compaction.lag.ms",  "long", LONG_MAX,   POS,          "dyn"),
    _b("message.max.bytes",                  "int",  1_048_588,  NONNEG,       "dyn"),
    _b("log.message.timestamp.after.max.ms", "long", 3_600_000,  NONNEG,       "dyn"),
    _b("log.message.timestamp.before.max.ms", "long", LONG_MAX,  NONNEG,       "dyn"),
    _b("log.message.timestamp.type",         "string", "CreateTime", one_of(*_TS_TYPES), "dyn"),
    _b("log.cleaner.min.cleanable.ratio",    "double", 0.5,      between(0, 1), "dyn"),
    _b("log.cleaner.min.compaction.lag.ms",  "long", 0,          NONNEG,       "dyn"),
    _b("min.insync.replicas",                "int",  1,          POS,          "dyn"),
    _b("log.preallocate",                    "boolean", False,   None,         "dyn"),
    _b("log.retention.bytes",                "long", -1,         None,         "dyn"),
    _b("log.retention.ms",                   "long", None,       None,         "dyn"),
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
    # kpy only: where the HTTP server (/health, /metrics, the console) listens; see
    # config_listeners.parse_http_listeners. Unset or empty: no HTTP server.
    _b("http.listeners",                         "string", None),
    # Kafka's other dynamic broker keys: stored, validated and described, without effect in
    # kpy (one event loop, no TLS or SASL, no tiered storage, no replication). "pb": per broker.
    _x("background.threads",                     "int",    10,          POS),
    _x("num.io.threads",                         "int",    8,           POS),
    _x("num.network.threads",                    "int",    3,           POS),
    _x("num.recovery.threads.per.data.dir",      "int",    2,           POS),
    _x("num.replica.fetchers",                   "int",    1,           POS),
    _x("log.cleaner.threads",                    "int",    1,           NONNEG),
    _x("log.cleaner.dedupe.buffer.size",         "long",   134_217_728),
    _x("log.cleaner.io.buffer.load.factor",      "double", 0.9),
    _x("log.cleaner.io.buffer.size",             "int",    524_288,     NONNEG),
    _x("log.cleaner.io.max.bytes.per.second",    "double", 1.7976931348623157e308),
    _x("cordoned.log.dirs",                      "list",   [],          None, "pb"),
    _b("log.remote.copy.lag.bytes",              "long",   -1,          at_least(-1), "dyn"),
    _b("log.remote.copy.lag.ms",                 "long",   0,           at_least(-1), "dyn"),
    _x("max.connection.creation.rate",           "int",    INT_MAX,     NONNEG),
    _x("max.connections.per.ip",                 "int",    INT_MAX,     NONNEG),
    _x("max.connections.per.ip.overrides",       "string", "",          _per_ip_overrides),
    _b("max.decompressed.message.bytes",         "int",    2_147_483_639, between(1, 2_147_483_639), "dyn"),
    _x("metric.reporters",                       "list",   ["org.apache.kafka.common.metrics.JmxReporter"]),
    _x("config.providers",                       "list",   []),
    _x("transaction.partition.verification.enable", "boolean", True),
    _x("errors.deadletterqueue.auto.create.topics.enable", "boolean", False),
    _x("errors.deadletterqueue.topic.name.prefix", "string", "dlq."),
    _x("group.consumer.assignment.interval.ms",  "int",    1000,        NONNEG),
    _x("group.consumer.assignor.offload.enable", "boolean", True),
    _x("group.share.assignment.interval.ms",     "int",    1000,        NONNEG),
    _x("group.share.assignor.offload.enable",    "boolean", True),
    _x("group.streams.assignment.interval.ms",   "int",    1000,        NONNEG),
    _x("group.streams.assignor.offload.enable",  "boolean", True),
    _x("group.coordinator.cached.buffer.max.bytes", "int", 1_048_588,   at_least(524_288)),
    _x("share.coordinator.cached.buffer.max.bytes", "int", 1_048_588,   at_least(524_288)),
    _x("leader.replication.throttled.rate",      "long",   LONG_MAX,    NONNEG),
    _x("follower.replication.throttled.rate",    "long",   LONG_MAX,    NONNEG),
    _x("replica.alter.log.dirs.io.max.bytes.per.second", "long", LONG_MAX, NONNEG),
    _x("follower.fetch.last.tiered.offset.enable", "boolean", False),
    _x("remote.fetch.max.wait.ms",               "int",    500,         POS),
    _x("remote.list.offsets.request.timeout.ms", "long",   30_000,      POS),
    _x("remote.log.index.file.cache.total.size.bytes", "long", 1_073_741_824, POS),
    _x("remote.log.manager.copier.thread.pool.size",   "int",  10,      POS),
    _x("remote.log.manager.expiration.thread.pool.size", "int", 10,     POS),
    _x("remote.log.manager.follower.thread.pool.size", "int",  2,       POS),
    _x("remote.log.manager.copy.max.bytes.per.second", "long", LONG_MAX, POS),
    _x("remote.log.manager.fetch.max.bytes.per.second", "long", LONG_MAX, POS),
    _x("remote.log.reader.threads",              "int",    10,          POS),
    _x("principal.builder.class",                "class",  "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder", None, "pb"),
    _x("sasl.enabled.mechanisms",                "list",   ["GSSAPI"],  None, "pb"),
    _x("sasl.mechanism.inter.broker.protocol",   "string", "GSSAPI",    None, "pb"),
    _x("sasl.jaas.config",                       "password", None,      None, "pb"),
    _x("sasl.kerberos.service.name",             "string", None,        None, "pb"),
    _x("sasl.kerberos.kinit.cmd",                "string", "/usr/bin/kinit", None, "pb"),
    _x("sasl.kerberos.ticket.renew.window.factor", "double", 0.8,       None, "pb"),
    _x("sasl.kerberos.ticket.renew.jitter",      "double", 0.05,        None, "pb"),
    _x("sasl.kerberos.min.time.before.relogin",  "long",   60_000,      None, "pb"),
    _x("sasl.kerberos.principal.to.local.rules", "list",   ["DEFAULT"], None, "pb"),
    _x("sasl.login.refresh.window.factor",       "double", 0.8,         None, "pb"),
    _x("sasl.login.refresh.window.jitter",       "double", 0.05,        None, "pb"),
    _x("sasl.login.refresh.min.period.seconds",  "short",  60,          None, "pb"),
    _x("sasl.login.refresh.buffer.seconds",      "short",  300,         None, "pb"),
    _x("ssl.protocol",                           "string", "TLSv1.3",   None, "pb"),
    _x("ssl.provider",                           "string", None,        None, "pb"),
    _x("ssl.cipher.suites",                      "list",   [],          None, "pb"),
    _x("ssl.enabled.protocols",                  "list",   ["TLSv1.2", "TLSv1.3"], None, "pb"),
    _x("ssl.keymanager.algorithm",               "string", "SunX509",   None, "pb"),
    _x("ssl.trustmanager.algorithm",             "string", "PKIX",      None, "pb"),
    _x("ssl.endpoint.identification.algorithm",  "string", "https",     None, "pb"),
    _x("ssl.secure.random.implementation",       "string", None,        None, "pb"),
    _x("ssl.client.auth",                        "string", "none",      one_of("required", "requested", "none"), "pb"),
    _x("ssl.engine.factory.class",               "class",  None,        None, "pb"),
    # Kafka's DYNAMIC_SECURITY_CONFIGS: per broker, and only with a listener prefix.
    _x("ssl.keystore.type",                      "string", "JKS",       None, "pb"),
    _x("ssl.keystore.location",                  "string", None,        None, "pb"),
    _x("ssl.keystore.password",                  "password", None,      None, "pb"),
    _x("ssl.key.password",                       "password", None,      None, "pb"),
    _x("ssl.keystore.key",                       "password", None,      None, "pb"),
    _x("ssl.keystore.certificate.chain",         "password", None,      None, "pb"),
    _x("ssl.truststore.type",                    "string", "JKS",       None, "pb"),
    _x("ssl.truststore.location",                "string", None,        None, "pb"),
    _x("ssl.truststore.password",                "password", None,      None, "pb"),
    _x("ssl.truststore.certificates",            "password", None,      None, "pb"),
]
# fmt: on

# Kafka's DYNAMIC_SECURITY_CONFIGS: alterable only per listener (listener.name.<l>.<key>).
LISTENER_ONLY_KEYS = frozenset(
    {
        "ssl.keystore.type",
        "ssl.keystore.location",
        "ssl.keystore.password",
        "ssl.key.password",
        "ssl.keystore.key",
        "ssl.keystore.certificate.chain",
        "ssl.truststore.type",
        "ssl.truststore.location",
        "ssl.truststore.password",
        "ssl.truststore.certificates",
    }
)

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
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "socket.listen.backlog.size",
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
    "sasl.mechanism.controller.protocol",
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

# Every other broker key of Apache Kafka 4.4.0: the names of its broker ConfigDef that are not
# dynamic (DynamicConfig.Broker.nonDynamicProps() of kafka-server-4.4.0.jar). AlterConfigs
# refuses them on a broker resource ("Cannot update these configs dynamically"), whether or
# not kpy knows them; a name in neither set is unknown to Kafka and accepted as it is.
KAFKA_STATIC_KEYS = frozenset(
    _words(
        """
    add.partitions.to.txn.retry.backoff.max.ms add.partitions.to.txn.retry.backoff.ms
    advertised.listeners alter.config.policy.class.name alter.log.dirs.replication.quota.window.num
    alter.log.dirs.replication.quota.window.size.seconds authorizer.class.name
    auto.create.topics.enable auto.leader.rebalance.enable broker.heartbeat.interval.ms broker.id
    broker.rack broker.session.timeout.ms client.quota.callback.class
    connection.failed.authentication.delay.ms connections.max.idle.ms connections.max.reauth.ms
    controlled.shutdown.enable controller.listener.names
    controller.performance.always.log.threshold.ms controller.performance.sample.period.ms
    controller.quorum.append.linger.ms controller.quorum.auto.join.enable
    controller.quorum.bootstrap.servers controller.quorum.election.backoff.max.ms
    controller.quorum.election.timeout.ms controller.quorum.fetch.max.bytes
    controller.quorum.fetch.snapshot.max.bytes controller.quorum.fetch.timeout.ms
    controller.quorum.request.timeout.ms controller.quorum.retry.backoff.ms controller.quorum.voters
    controller.quota.window.num controller.quota.window.size.seconds controller.socket.timeout.ms
    create.topic.policy.class.name default.replication.factor
    delegation.token.expiry.check.interval.ms delegation.token.expiry.time.ms
    delegation.token.max.lifetime.ms delegation.token.secret.key
    delete.records.purgatory.purge.interval.requests delete.topic.enable early.start.listeners
    fetch.max.bytes fetch.purgatory.purge.interval.requests group.consumer.assignors
    group.consumer.heartbeat.interval.ms group.consumer.max.assignment.interval.ms
    group.consumer.max.heartbeat.interval.ms group.consumer.max.session.timeout.ms
    group.consumer.max.size group.consumer.migration.policy
    group.consumer.min.assignment.interval.ms group.consumer.min.heartbeat.interval.ms
    group.consumer.min.session.timeout.ms group.consumer.regex.refresh.interval.ms
    group.consumer.session.timeout.ms group.coordinator.append.linger.ms
    group.coordinator.background.threads group.coordinator.rebalance.protocols
    group.coordinator.threads group.initial.rebalance.delay.ms group.max.session.timeout.ms
    group.max.size group.min.session.timeout.ms group.share.assignors
    group.share.delivery.count.limit group.share.dlq.manager.class.name
    group.share.heartbeat.interval.ms group.share.initialize.retry.interval.ms
    group.share.max.assignment.interval.ms group.share.max.delivery.count.limit
    group.share.max.heartbeat.interval.ms group.share.max.partition.max.record.locks
    group.share.max.record.lock.duration.ms group.share.max.session.timeout.ms
    group.share.max.share.sessions group.share.max.size group.share.min.assignment.interval.ms
    group.share.min.delivery.count.limit group.share.min.heartbeat.interval.ms
    group.share.min.partition.max.record.locks group.share.min.record.lock.duration.ms
    group.share.min.session.timeout.ms group.share.partition.max.record.locks
    group.share.persister.class.name group.share.record.lock.duration.ms
    group.share.session.timeout.ms group.streams.acceptable.recovery.lag group.streams.assignors
    group.streams.heartbeat.interval.ms group.streams.initial.rebalance.delay.ms
    group.streams.max.assignment.interval.ms group.streams.max.heartbeat.interval.ms
    group.streams.max.session.timeout.ms group.streams.max.size group.streams.max.standby.replicas
    group.streams.max.warmup.replicas group.streams.min.assignment.interval.ms
    group.streams.min.heartbeat.interval.ms group.streams.min.session.timeout.ms
    group.streams.min.task.offset.interval.ms group.streams.num.standby.replicas
    group.streams.num.warmup.replicas group.streams.rack.aware.assignment.tags
    group.streams.session.timeout.ms group.streams.task.offset.interval.ms
    group.streams.topology.description.plugin.class initial.broker.registration.timeout.ms
    inter.broker.listener.name internal.metadata.delete.delay.millis
    internal.metadata.log.segment.bytes internal.metadata.max.batch.size.in.bytes
    kafka.metrics.polling.interval.secs kafka.metrics.reporters
    leader.imbalance.check.interval.seconds log.cleaner.enable log.dir log.dir.failure.timeout.ms
    log.dirs log.flush.offset.checkpoint.interval.ms log.flush.scheduler.interval.ms
    log.flush.start.offset.checkpoint.interval.ms log.initial.task.delay.ms
    log.retention.check.interval.ms log.retention.hours log.retention.minutes log.roll.hours
    log.roll.jitter.hours max.incremental.fetch.session.cache.slots max.request.partition.size.limit
    metadata.log.dir metadata.log.max.record.bytes.between.snapshots
    metadata.log.max.snapshot.interval.ms metadata.log.segment.bytes metadata.log.segment.ms
    metadata.max.idle.interval.ms metadata.max.retention.bytes metadata.max.retention.ms
    metrics.num.samples metrics.recording.level metrics.sample.window.ms node.id num.partitions
    num.replica.alter.log.dirs.threads offset.metadata.max.bytes offsets.commit.timeout.ms
    offsets.load.buffer.size offsets.retention.check.interval.ms offsets.retention.minutes
    offsets.topic.compression.codec offsets.topic.num.partitions offsets.topic.replication.factor
    offsets.topic.segment.bytes process.roles producer.id.expiration.check.interval.ms
    producer.purgatory.purge.interval.requests queued.max.request.bytes queued.max.requests
    quota.window.num quota.window.size.seconds remote.log.index.file.cache.ttl.ms
    remote.log.manager.copy.quota.window.num remote.log.manager.copy.quota.window.size.seconds
    remote.log.manager.fetch.quota.window.num remote.log.manager.fetch.quota.window.size.seconds
    remote.log.manager.task.interval.ms remote.log.manager.task.retry.backoff.max.ms
    remote.log.manager.task.retry.backoff.ms remote.log.manager.task.retry.jitter
    remote.log.manager.thread.pool.size remote.log.metadata.custom.metadata.max.bytes
    remote.log.metadata.manager.class.name remote.log.metadata.manager.class.path
    remote.log.metadata.manager.impl.prefix remote.log.metadata.manager.listener.name
    remote.log.reader.max.pending.tasks remote.log.storage.manager.class.name
    remote.log.storage.manager.class.path remote.log.storage.manager.impl.prefix
    remote.log.storage.system.enable replica.fetch.backoff.ms replica.fetch.max.bytes
    replica.fetch.min.bytes replica.fetch.response.max.bytes replica.fetch.wait.max.ms
    replica.high.watermark.checkpoint.interval.ms replica.lag.time.max.ms replica.selector.class
    replica.socket.receive.buffer.bytes replica.socket.timeout.ms replication.quota.window.num
    replication.quota.window.size.seconds request.timeout.ms sasl.client.callback.handler.class
    sasl.login.callback.handler.class sasl.login.class sasl.login.connect.timeout.ms
    sasl.login.read.timeout.ms sasl.login.retry.backoff.max.ms sasl.login.retry.backoff.ms
    sasl.mechanism.controller.protocol sasl.oauthbearer.allow.unverified.audience
    sasl.oauthbearer.allow.unverified.issuer sasl.oauthbearer.assertion.algorithm
    sasl.oauthbearer.assertion.claim.aud sasl.oauthbearer.assertion.claim.exp.seconds
    sasl.oauthbearer.assertion.claim.iss sasl.oauthbearer.assertion.claim.jti.include
    sasl.oauthbearer.assertion.claim.nbf.seconds sasl.oauthbearer.assertion.claim.sub
    sasl.oauthbearer.assertion.file sasl.oauthbearer.assertion.private.key.file
    sasl.oauthbearer.assertion.private.key.passphrase sasl.oauthbearer.assertion.template.file
    sasl.oauthbearer.client.credentials.client.id sasl.oauthbearer.client.credentials.client.secret
    sasl.oauthbearer.clock.skew.seconds sasl.oauthbearer.expected.audience
    sasl.oauthbearer.expected.issuer sasl.oauthbearer.jwks.endpoint.refresh.ms
    sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms
    sasl.oauthbearer.jwks.endpoint.retry.backoff.ms sasl.oauthbearer.jwks.endpoint.url
    sasl.oauthbearer.jwt.retriever.class sasl.oauthbearer.jwt.validator.class sasl.oauthbearer.scope
    sasl.oauthbearer.scope.claim.name sasl.oauthbearer.sub.claim.name
    sasl.oauthbearer.token.endpoint.url sasl.server.callback.handler.class
    sasl.server.max.receive.size security.inter.broker.protocol security.providers
    server.max.startup.time.ms share.coordinator.append.linger.ms
    share.coordinator.cold.partition.snapshot.interval.ms share.coordinator.load.buffer.size
    share.coordinator.snapshot.update.records.per.snapshot
    share.coordinator.state.topic.compression.codec share.coordinator.state.topic.min.isr
    share.coordinator.state.topic.num.partitions share.coordinator.state.topic.prune.interval.ms
    share.coordinator.state.topic.replication.factor share.coordinator.state.topic.segment.bytes
    share.coordinator.threads share.coordinator.write.timeout.ms
    share.fetch.purgatory.purge.interval.requests socket.connection.setup.timeout.max.ms
    socket.connection.setup.timeout.ms socket.listen.backlog.size socket.receive.buffer.bytes
    socket.request.max.bytes socket.send.buffer.bytes ssl.allow.dn.changes ssl.allow.san.changes
    ssl.principal.mapping.rules telemetry.max.bytes
    transaction.abort.timed.out.transaction.cleanup.interval.ms transaction.max.timeout.ms
    transaction.remove.expired.transaction.cleanup.interval.ms
    transaction.state.log.load.buffer.size transaction.state.log.min.isr
    transaction.state.log.num.partitions transaction.state.log.replication.factor
    transaction.state.log.segment.bytes transaction.two.phase.commit.enable
    transactional.id.expiration.ms unclean.leader.election.interval.ms unstable.api.versions.enable
    unstable.feature.versions.enable
    """
    )
)

TOPIC_KEYS: dict[str, Key] = {k.name: k for k in _TOPIC_TABLE}
BROKER_KEYS: dict[str, Key] = {k.name: k for k in _BROKER_TABLE}
BROKER_KEYS.update((n, Key(n, "string", None, ignored=True, described=False)) for n in IGNORED_KEYS)
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
