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
