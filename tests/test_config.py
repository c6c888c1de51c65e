"""Configuration: server.properties parsing, Kafka defaults, validation, topic configs."""

from __future__ import annotations

import logging

import pytest

from kpy.config import Config, ConfigError, parse_properties, validate_topic_config
from kpy.protocol.error_codes import ErrorCode, KafkaError

KAFKA_STYLE = """
# Licensed to the Apache Software Foundation (comment)
! also a comment
process.roles=broker,controller
node.id=3
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=/tmp/a,\\
         /tmp/b
num.partitions : 3
log.retention.hours 24
key\\ with\\ space=v
"""


def test_parse_properties_java_syntax():
    props = parse_properties(KAFKA_STYLE)
    assert props["log.dirs"] == "/tmp/a,/tmp/b"
    assert props["num.partitions"] == "3"
    assert props["log.retention.hours"] == "24"
    assert props["key with space"] == "v"
    assert "! also a comment" not in props


def test_kafka_style_config_loads(caplog):
    props = parse_properties(KAFKA_STYLE)
    del props["key with space"]
    with caplog.at_level(logging.WARNING):
        config = Config(props)
    assert not caplog.records  # every key of a Kafka sample is known
    assert config.node_id() == 3
    assert config.log_dirs() == ["/tmp/a", "/tmp/b"]
    assert [listener.port for listener in config.listeners()] == [9092, 9093]
    assert config.get("num.partitions") == 3
    assert config.effective_topic_config({})["retention.ms"] == 24 * 3600 * 1000


def test_defaults_are_kafkas():
    config = Config({})
    assert config.get("auto.create.topics.enable") is True
    assert config.get("socket.request.max.bytes") == 104857600
    assert config.get("offsets.topic.num.partitions") == 50
    assert config.get("group.initial.rebalance.delay.ms") == 3000
    topic = config.effective_topic_config({})
    assert topic["segment.bytes"] == 1073741824
    assert topic["retention.ms"] == 604800000
    assert topic["max.message.bytes"] == 1048588
    assert topic["cleanup.policy"] == ["delete"]


def test_unknown_key_is_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        Config({"no.such.key": "1"})
    assert "no.such.key" in caplog.text
    assert "did you mean" not in caplog.text  # nothing close to suggest


@pytest.mark.parametrize(
    ("typo", "known"),
    [
        ("Num.Partitions", "num.partitions"),  # wrong case
        ("num.partition", "num.partitions"),  # a letter short
        ("auto.create.topic.enable", "auto.create.topics.enable"),
        ("Log.Retention.Hour", "log.retention.hours"),
    ],
)
def test_unknown_key_warning_suggests_the_known_key(typo, known, caplog):
    with caplog.at_level(logging.WARNING):
        Config({typo: "3"})
    [record] = caplog.records
    assert record.getMessage() == (f"unknown config {typo!r} is ignored (did you mean {known}?)")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("num.partitions", "zero"),
        ("num.partitions", "0"),
        ("auto.create.topics.enable", "maybe"),
        ("log.cleanup.policy", "shred"),
        ("listeners", "nonsense"),
    ],
)
def test_bad_values_name_the_key(key, value):
    with pytest.raises(ConfigError, match=key):
        Config({key: value})


def test_retention_priority_ms_over_minutes_over_hours():
    config = Config({"log.retention.hours": "1", "log.retention.minutes": "2"})
    assert config.effective_topic_config({})["retention.ms"] == 120_000
    config = Config({"log.retention.hours": "1", "log.retention.ms": "5"})
    assert config.effective_topic_config({})["retention.ms"] == 5


def test_topic_config_validation():
    assert validate_topic_config({"retention.ms": "10"}) == {"retention.ms": 10}
    for bad in ({"retention.ms": "soon"}, {"no.such": "1"}, {"compression.type": "brotli"}):
        with pytest.raises(KafkaError) as err:
            validate_topic_config(bad)
        assert err.value.code == ErrorCode.INVALID_CONFIG


def test_describe_topic_config_sources():
    config = Config({"log.segment.bytes": "2000000"})
    entries = {e.name: e for e in config.describe_topic_config({"retention.ms": "99"})}
    assert (entries["retention.ms"].value, entries["retention.ms"].source) == ("99", 1)
    assert (entries["segment.bytes"].value, entries["segment.bytes"].source) == ("2000000", 4)
    assert entries["cleanup.policy"].source == 5
    assert ("log.segment.bytes", "2000000", 4) in entries["segment.bytes"].synonyms


# -- more parsing ---------------------------------------------------------------------------

# Kafka's own config/server.properties (KRaft), abridged from memory: licence header, sections,
# a controller listener, a commented-out key.
KAFKA_SAMPLE = """\
# Licensed to the Apache Software Foundation (ASF) under one or more
# contributor license agreements.

############################# Server Basics #############################

# The role of this server. Setting this puts us in KRaft mode
process.roles=broker,controller

# The node id associated with this instance's roles
node.id=1

# List of controller endpoints used connect to the controller cluster
controller.quorum.bootstrap.servers=localhost:9093

############################# Socket Server Settings #############################

listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600

############################# Log Basics #############################

log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1

############################# Internal Topic Settings  #############################
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1

############################# Log Flush Policy #############################
#log.flush.interval.messages=10000
#log.flush.interval.ms=1000

############################# Log Retention Policy #############################
log.retention.hours=168
#log.retention.bytes=1073741824
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
"""


def test_kafka_sample_loads_without_warnings(caplog):
    with caplog.at_level(logging.WARNING):
        config = Config(parse_properties(KAFKA_SAMPLE))
    assert not caplog.records
    assert "log.flush.interval.ms" not in parse_properties(KAFKA_SAMPLE)
    # The controller listener is not served; only the broker listener is.
    assert [str(lst) for lst in config.listeners()] == ["PLAINTEXT://:9092"]
    assert config.advertised_address("PLAINTEXT", 9092) == ("localhost", 9092)
    assert config.advertised_address("CONTROLLER", 9093) is None
    assert config.log_dirs() == ["/tmp/kraft-combined-logs"]
    assert "num.io.threads" in config.ignored


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a=b", {"a": "b"}),
        ("a = b ", {"a": "b "}),  # trailing white space belongs to the value, as in Java
        ("a:b", {"a": "b"}),
        ("a b", {"a": "b"}),
        ("a\t=\t:b", {"a": ":b"}),  # one separator only; the second ':' is value
        ("a", {"a": ""}),
        ("a=", {"a": ""}),
        ("  # indented comment\n  ! another\n a=1", {"a": "1"}),
        ("a=1\\\n   2\\\n 3", {"a": "123"}),
        ("a=1\\\\", {"a": "1\\"}),  # an even number of backslashes does not continue
        ("a=1\\\\\\\nb", {"a": "1\\b"}),
        ("a=x\\\n# not a comment", {"a": "x# not a comment"}),
        ("a\\=b=c", {"a=b": "c"}),
        ("a\\:b:c", {"a:b": "c"}),
        ("k=\\t\\n\\u0041\\q", {"k": "\t\nAq"}),
        ("dup=1\ndup=2", {"dup": "2"}),
        ("a=1\\", {"a": "1"}),  # continuation at end of input
        ("\r\na=1\r\nb=2\r\n", {"a": "1", "b": "2"}),
    ],
)
def test_properties_syntax(text, expected):
    assert parse_properties(text) == expected


def test_values_are_trimmed_and_typed():
    config = Config({"num.partitions": " 4 ", "auto.create.topics.enable": "FALSE"})
    assert config.get("num.partitions") == 4
    assert config.get("auto.create.topics.enable") is False
    config = Config({"log.cleanup.policy": " compact , delete "})
    assert config.get("log.cleanup.policy") == ["compact", "delete"]
    assert config.topic_config({})["cleanup.policy"] == ["compact", "delete"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("num.partitions", "1_000"),
        ("num.partitions", "2147483648"),  # beyond INT
        ("log.retention.ms", "1.5"),
        ("log.segment.bytes", "1000"),  # Kafka 4.0 minimum is 1 MiB
        ("compression.type", "brotli"),
        ("log.message.timestamp.type", "createtime"),
        ("log.cleaner.min.cleanable.ratio", "1.5"),
        ("node.id", "x"),
        ("advertised.listeners", "PLAINTEXT://0.0.0.0:9092"),
        ("listeners", "PLAINTEXT://:9092,PLAINTEXT://:9093"),
        ("listeners", "PLAINTEXT://:70000"),
        ("listeners", "SSL://:9093"),
        ("listeners", "OTHER://:9093"),  # not in the protocol map
        ("cluster.id", "not-a-cluster-id"),
        ("log.dirs", "/a,/a"),
    ],
)
def test_more_bad_values(key, value):
    with pytest.raises(ConfigError) as err:
        Config({key: value})
    assert key in str(err.value)


def test_node_id_and_broker_id():
    assert Config({}).node_id() == 1
    assert Config({"broker.id": "7"}).node_id() == 7
    assert Config({"node.id": "3", "broker.id": "3"}).node_id() == 3
    with pytest.raises(ConfigError, match="broker.id"):
        Config({"node.id": "3", "broker.id": "4"})


def test_log_dir_fallback():
    assert Config({}).log_dirs() == ["/tmp/kafka-logs"]
    assert Config({"log.dir": "/x"}).log_dirs() == ["/x"]
    assert Config({"log.dir": "/x", "log.dirs": "/y, /z"}).log_dirs() == ["/y", "/z"]


def test_listeners_and_advertised_addresses():
    config = Config(
        {
            "listeners": "PLAINTEXT://127.0.0.1:0,OTHER://:0,IPV6://[::1]:9099",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT,IPV6:PLAINTEXT",
        }
    )
    assert [(lst.name, lst.host, lst.port) for lst in config.listeners()] == [
        ("PLAINTEXT", "127.0.0.1", 0),
        ("OTHER", "", 0),
        ("IPV6", "::1", 9099),
    ]
    # Port 0 is advertised as the port actually bound; an empty host as localhost.
    assert config.advertised_address("PLAINTEXT", 40001) == ("127.0.0.1", 40001)
    assert config.advertised_address("other", 40002) == ("localhost", 40002)
    assert str(config.listeners()[2]) == "IPV6://[::1]:9099"

    config = Config(
        {
            "listeners": "PLAINTEXT://0.0.0.0:0",
            "advertised.listeners": "PLAINTEXT://kpy.example:19092",
        }
    )
    assert config.advertised_address("PLAINTEXT", 40001) == ("kpy.example", 19092)
    assert Config({"listeners": "PLAINTEXT://0.0.0.0:0"}).advertised_address("PLAINTEXT", 5) == (
        "localhost",
        5,
    )
    with pytest.raises(ConfigError, match="advertised.listeners"):
        Config(
            {
                "advertised.listeners": "NOPE://h:1",
                "listener.security.protocol.map": "NOPE:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            }
        )


def test_ignored_keys_and_families_do_not_warn(caplog):
    with caplog.at_level(logging.WARNING):
        config = Config(
            {
                "zookeeper.connect": "localhost:2181",
                "ssl.keystore.password": "secret",
                "listener.name.internal.ssl.keystore.location": "/x",
                "num.replica.fetchers": "4",
            }
        )
    assert not caplog.records
    # Kafka defines ssl.keystore.password: described, as a password, so never shown.
    shown = {e.name: e for e in config.describe_broker_config()}
    assert shown["ssl.keystore.password"].value is None
    assert shown["ssl.keystore.password"].sensitive
    assert "zookeeper.connect" not in shown  # no longer a Kafka key


def test_retention_units_and_negative_retention():
    assert Config({"log.retention.minutes": "3"}).topic_defaults()["retention.ms"] == 180_000
    assert Config({"log.retention.hours": "-1"}).topic_defaults()["retention.ms"] == -1
    assert Config({"log.roll.hours": "2"}).topic_defaults()["segment.ms"] == 7_200_000
    assert Config({"log.roll.ms": "5", "log.roll.hours": "2"}).topic_defaults()["segment.ms"] == 5
    assert Config({"log.flush.scheduler.interval.ms": "9"}).topic_defaults()["flush.ms"] == 9
    assert Config({"message.max.bytes": "2000"}).topic_defaults()["max.message.bytes"] == 2000


def test_topic_config_overrides():
    config = Config({"log.retention.ms": "1000"})
    topic = config.topic_config({"retention.ms": "5", "cleanup.policy": "compact"})
    assert topic["retention.ms"] == 5
    assert topic["cleanup.policy"] == ["compact"]
    assert topic["segment.bytes"] == 1073741824
    assert config.topic_config({})["retention.ms"] == 1000
    # Callers may not corrupt the defaults through the lists they get.
    config.topic_config({})["cleanup.policy"].append("compact")
    assert config.topic_config({})["cleanup.policy"] == ["delete"]


def test_topic_describe_follows_kafkas_synonyms():
    entries = {e.name: e for e in Config({}).describe_topic_config({})}
    retention = entries["retention.ms"]
    assert (retention.value, retention.source, retention.read_only) == ("604800000", 5, False)
    # Kafka 4.4 lists the broker keys from its first one (log.retention.ms) on: that one has
    # no value, so log.retention.hours=168 is not listed either.
    assert retention.synonyms == []
    assert retention.type == 5  # LONG
    assert entries["cleanup.policy"].type == 7 and entries["cleanup.policy"].value == "delete"
    assert entries["remote.storage.enable"].synonyms == []
    assert entries["remote.storage.enable"].source == 5

    config = Config({"log.retention.ms": "1000", "log.retention.hours": "2"})
    entries = {e.name: e for e in config.describe_topic_config({"retention.ms": "99"})}
    assert entries["retention.ms"].value == "99"
    assert entries["retention.ms"].source == 1
    assert entries["retention.ms"].synonyms == [
        ("retention.ms", "99", 1),
        ("log.retention.ms", "1000", 4),
        ("log.retention.hours", "2", 4),
        ("log.retention.hours", "168", 5),
    ]
    entries = {e.name: e for e in config.describe_topic_config({})}
    assert (entries["retention.ms"].value, entries["retention.ms"].source) == ("1000", 4)
    entries = {e.name: e for e in Config({"log.roll.hours": "2"}).describe_topic_config({})}
    assert (entries["segment.ms"].value, entries["segment.ms"].source) == ("7200000", 5)
    assert entries["segment.ms"].synonyms == []


def test_broker_describe():
    config = Config({"log.retention.ms": "1000", "num.partitions": "3"})
    entries = {e.name: e for e in config.describe_broker_config()}
    assert (entries["num.partitions"].value, entries["num.partitions"].source) == ("3", 4)
    assert entries["num.partitions"].read_only is True
    assert entries["log.retention.ms"].read_only is False
    assert entries["log.retention.ms"].synonyms == [
        ("log.retention.ms", "1000", 4),
        ("log.retention.hours", "168", 5),
    ]
    # Kafka's null default: no value, source DEFAULT.
    assert Config({}).describe_broker_config  # iterable
    fresh = {e.name: e for e in Config({}).describe_broker_config()}
    assert (fresh["log.retention.ms"].value, fresh["log.retention.ms"].source) == (None, 5)
    assert (fresh["log.retention.hours"].value, fresh["log.retention.hours"].source) == ("168", 5)
    assert fresh["node.id"].value == "1"
    assert "process.roles" not in fresh


def test_dynamic_broker_layers():
    config = Config({"log.retention.ms": "1000"})
    generation = config.generation
    config.set_dynamic("log.retention.ms", "2000", per_broker=False)
    assert config.topic_defaults()["retention.ms"] == 2000
    config.set_dynamic("log.retention.ms", "3000")
    assert config.topic_defaults()["retention.ms"] == 3000
    assert config.generation > generation
    entries = {e.name: e for e in config.describe_topic_config({})}
    assert entries["retention.ms"].source == 2
    assert [s[2] for s in entries["retention.ms"].synonyms] == [2, 3, 4, 5]
    config.set_dynamic("log.retention.ms", None)
    assert config.topic_defaults()["retention.ms"] == 2000
    stored = config.dynamic_configs()
    assert stored == {"broker": {}, "default": {"log.retention.ms": "2000"}}
    again = Config({})
    again.load_dynamic(stored)
    assert again.topic_defaults()["retention.ms"] == 2000
    config.replace_dynamic({"max.connections": "10"}, per_broker=False)
    assert config.get("max.connections") == 10
    assert config.topic_defaults()["retention.ms"] == 1000


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("num.partitions", "3"),  # a static key
        ("log.retention.hours", "1"),  # static too: only log.retention.ms is dynamic
        ("max.connections", "x"),
        ("ssl.keystore.location", "/x"),  # only with a listener prefix
        ("background.threads", "21"),  # more than double the current 10
    ],
)
def test_dynamic_broker_errors(name, value):
    # Kafka answers INVALID_REQUEST for every refused broker config.
    with pytest.raises(KafkaError) as err:
        Config({}).set_dynamic(name, value)
    assert err.value.code == ErrorCode.INVALID_REQUEST and name in err.value.message


@pytest.mark.parametrize(
    "configs",
    [
        {"segment.bytes": "1000"},
        {"cleanup.policy": "delete,shred"},
        {"cleanup.policy": "delete,"},  # Kafka 4.4 accepts "" but no empty item
        {"cleanup.policy": "compact,,delete"},
        {"max.decompressed.message.bytes": "0"},
        {"remote.copy.lag.ms": "-2"},
        {"min.cleanable.dirty.ratio": "2"},
        {"compression.gzip.level": "0"},
        {"compression.zstd.level": "23"},
        {"message.timestamp.type": "Now"},
        {"retention.ms": "-2"},
        {"retention.ms": None},
        {"log.retention.ms": "1"},  # a broker key is no topic key
        {"remote.storage.enable": "true"},
        {"leader.replication.throttled.replicas": "0:x"},
        {"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"},
    ],
)
def test_invalid_topic_configs_name_the_key(configs):
    with pytest.raises(KafkaError) as err:
        validate_topic_config(configs)
    assert err.value.code == ErrorCode.INVALID_CONFIG
    assert any(name in err.value.message for name in configs)


def test_valid_topic_configs_are_typed():
    parsed = validate_topic_config(
        {
            "cleanup.policy": "compact,delete",
            "compression.type": "zstd",
            "compression.gzip.level": "-1",
            "min.cleanable.dirty.ratio": "0.1",
            "preallocate": "true",
            "leader.replication.throttled.replicas": "*",
            "segment.bytes": "1048576",
        }
    )
    assert parsed["cleanup.policy"] == ["compact", "delete"]
    assert parsed["min.cleanable.dirty.ratio"] == 0.1 and parsed["preallocate"] is True
    # Cross-key checks against the effective defaults.
    defaults = Config({}).topic_defaults()
    with pytest.raises(KafkaError, match="min.compaction.lag.ms"):
        validate_topic_config(
            {"max.compaction.lag.ms": "5", "min.compaction.lag.ms": "6"}, defaults
        )
    validate_topic_config({"min.compaction.lag.ms": "6"}, defaults)


def test_from_file_and_overrides(tmp_path):
    path = tmp_path / "server.properties"
    path.write_text("num.partitions=2\nlog.dirs=/from/file\n")
    config = Config.from_file(path, {"num.partitions": "5"})
    assert config.get("num.partitions") == 5 and config.log_dirs() == ["/from/file"]
    with pytest.raises(ConfigError, match="missing.properties"):
        Config.from_file(tmp_path / "missing.properties")


def test_table_is_consistent():
    from kpy.config import BROKER_KEYS, KEYS, TOPIC_KEYS, TYPE_IDS, parse_value

    for key in KEYS.values():
        assert key.type in TYPE_IDS, key.name
        if key.default is not None and key.validator is not None:
            parse_value(key, key.default)  # every default passes its own validator
    for key in TOPIC_KEYS.values():
        for syn in key.synonyms:
            assert syn in BROKER_KEYS and not BROKER_KEYS[syn].ignored, syn
            broker = BROKER_KEYS[syn]
            if broker.default is not None and broker.unit == 1:
                assert broker.default == key.default, syn
        assert KEYS[key.name] is key


def test_stored_override_that_no_longer_parses_falls_back(caplog):
    # e.g. segment.bytes=1000 stored before Kafka 4.0's 1 MiB minimum: the broker must start.
    with caplog.at_level(logging.WARNING):
        topic = Config({}).topic_config({"segment.bytes": "1000", "retention.ms": "7"})
    assert topic["segment.bytes"] == 1073741824 and topic["retention.ms"] == 7
    assert "segment.bytes" in caplog.text
