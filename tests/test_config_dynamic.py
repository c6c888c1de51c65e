"""Dynamic broker configs without sockets: which keys AlterConfigs takes, Kafka 4.4's checks,
what DescribeConfigs shows for them and what survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpy.config import Config
from kpy.config_keys import BROKER_KEYS, KAFKA_STATIC_KEYS, LISTENER_ONLY_KEYS
from kpy.protocol.error_codes import ErrorCode, KafkaError

KAFKA_DYNAMIC = Path(__file__).parent / "fixtures" / "kafka-4.4-dynamic-broker-configs.txt"
PER_BROKER, DEFAULT, STATIC, KAFKA_DEFAULT = 2, 3, 4, 5


def kafka_dynamic() -> dict[str, list[str]]:
    rows = {}
    for line in KAFKA_DYNAMIC.read_text().splitlines():
        if line and not line.startswith("#"):
            name, *modes = line.split()
            rows[name] = modes
    return rows


def test_the_dynamic_keys_are_kafka_4_4s():
    kafka = kafka_dynamic()
    ours = {n for n, k in BROKER_KEYS.items() if not k.read_only}
    assert sorted(ours) == sorted(kafka)
    per_broker = {n for n, modes in kafka.items() if "per-broker" in modes}
    assert {n for n in ours if BROKER_KEYS[n].per_broker} == per_broker
    assert {n for n, modes in kafka.items() if "listener-only" in modes} == LISTENER_ONLY_KEYS
    assert not KAFKA_STATIC_KEYS & kafka.keys()


def refused(config: Config, sets: dict[str, str], *, per_broker: bool = True) -> str:
    with pytest.raises(KafkaError) as err:
        config.alter_dynamic(sets, per_broker=per_broker)
    assert err.value.code == ErrorCode.INVALID_REQUEST
    return err.value.message


@pytest.mark.parametrize(
    ("sets", "per_broker", "message"),
    [
        (
            {"num.partitions": "3"},
            True,
            "Cannot update these configs dynamically: [num.partitions]",
        ),
        ({"log.dirs": "/x"}, False, "Cannot update these configs dynamically: [log.dirs]"),
        (
            {"sasl.kerberos.min.time.before.relogin": "58000"},
            False,
            "Cannot update these configs at default cluster level, broker id must be specified: "
            "[sasl.kerberos.min.time.before.relogin]",
        ),
        (
            {"listener.name.plaintext.ssl.keystore.type": "PKCS12"},
            False,
            "broker id must be specified: [listener.name.plaintext.ssl.keystore.type]",
        ),
        (
            {"ssl.keystore.location": "/x"},
            True,
            "only per-listener using the listener prefix: [ssl.keystore.location]",
        ),
        (
            {"sasl.kerberos.min.time.before.relogin": "soon"},
            True,
            "Invalid value soon for configuration sasl.kerberos.min.time.before.relogin: "
            "Not a number of type LONG",
        ),
        (
            {"sasl.login.refresh.buffer.seconds": "99999"},
            True,
            "Not a number of type SHORT",
        ),
        ({"ssl.client.auth": "bogus"}, True, "String must be one of: required, requested, none"),
        (
            {"log.cleaner.min.cleanable.ratio": "2"},
            True,
            "Invalid value 2.0 for configuration log.cleaner.min.cleanable.ratio: "
            "Value must be no more than 1",
        ),
        (
            {"listener.name.plaintext.background.threads": "0"},
            True,
            "Invalid value 0 for configuration background.threads: Value must be at least 1",
        ),
        (
            {"num.io.threads": "17"},
            True,
            "num.io.threads=17, value should not be greater than double the current value 8",
        ),
        (
            {"remote.log.reader.threads": "4"},
            True,
            "value should be at least half the current value 10",
        ),
        ({"log.cleaner.threads": "3"}, True, "more than double the current value 1"),
        ({"log.cleaner.dedupe.buffer.size": "1000"}, True, "at least 1MB per cleaner thread"),
        ({"max.connections.per.ip": "0"}, True, "only if max.connections.per.ip.overrides"),
        ({"cordoned.log.dirs": "/elsewhere"}, True, "Missing entries : /elsewhere"),
        ({"principal.builder.class": "com.example.Builder"}, True, "could not be found"),
        ({"log.cleanup.policy": "delete,delete"}, True, "must not be duplicated"),
        ({"listeners": "garbage"}, True, "expected NAME://host:port"),
        (
            {"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,X:BOGUS"},
            True,
            "Invalid security protocol `BOGUS`",
        ),
    ],
)
def test_what_kafka_refuses(sets, per_broker, message):
    config = Config({"log.dirs": "/data/a"})
    assert message in refused(config, sets, per_broker=per_broker)
    assert config.dynamic_configs() == {"broker": {}, "default": {}}


def test_kafka_checks_in_its_order():
    # Static keys first, then listener-only keys, then values, then the per-broker rule.
    config = Config({})
    both = {"num.partitions": "3", "sasl.kerberos.min.time.before.relogin": "x"}
    assert "dynamically: [num.partitions]" in refused(config, both)
    prefix = {"ssl.keystore.location": "/x", "sasl.kerberos.min.time.before.relogin": "x"}
    assert "listener prefix" in refused(config, prefix)
    bad_default = {"sasl.kerberos.min.time.before.relogin": "x"}
    assert "Not a number of type LONG" in refused(config, bad_default, per_broker=False)


def test_accepted_keys_of_every_family_are_kept_and_described():
    config = Config({})
    config.alter_dynamic(
        {
            "sasl.kerberos.min.time.before.relogin": "58000",  # SASL, per broker
            "num.io.threads": "16",  # thread pools
            "log.cleaner.io.max.bytes.per.second": "1e3",  # log cleaner
            "log.retention.ms": "3600000",  # log (acts in kpy)
            "remote.log.reader.threads": "5",  # remote log manager
            "metric.reporters": "",  # metrics reporters
            "transaction.partition.verification.enable": "false",  # producer state
            "listener.name.plaintext.ssl.keystore.type": "PKCS12",  # TLS, per listener
            "listener.name.plaintext.max.connections": "100",  # connection quotas
            "sasl.jaas.config": "secret",  # a password
            "no.such.key": "x",  # unknown to Kafka: accepted as given
        }
    )
    config.alter_dynamic({"max.connection.creation.rate": "50"}, per_broker=False)
    rows = {e.name: e for e in config.describe_broker_config()}
    relogin = rows["sasl.kerberos.min.time.before.relogin"]
    assert (relogin.value, relogin.source, relogin.read_only) == ("58000", PER_BROKER, False)
    assert relogin.synonyms == [
        ("sasl.kerberos.min.time.before.relogin", "58000", PER_BROKER),
        ("sasl.kerberos.min.time.before.relogin", "60000", KAFKA_DEFAULT),
    ]
    # Synonyms show a value as it was given, the row as its type shows it (Java's doubles).
    rate = rows["log.cleaner.io.max.bytes.per.second"]
    assert rate.value == "1000.0" and rate.synonyms[0][1] == "1e3"
    assert rate.synonyms[1][1] == "1.7976931348623157E308"
    assert rows["num.io.threads"].value == "16"
    assert rows["metric.reporters"].value == ""
    assert rows["transaction.partition.verification.enable"].value == "false"
    assert config.topic_defaults()["retention.ms"] == 3_600_000
    assert (rows["sasl.jaas.config"].value, rows["sasl.jaas.config"].sensitive) == (None, True)
    unknown = rows["no.such.key"]
    assert (unknown.value, unknown.source, unknown.read_only, unknown.sensitive, unknown.type) == (
        None,
        PER_BROKER,
        True,
        True,
        0,
    )
    prefixed = rows["listener.name.plaintext.max.connections"]
    assert (prefixed.value, prefixed.read_only, prefixed.type) == ("100", True, 3)
    assert prefixed.synonyms == [
        ("listener.name.plaintext.max.connections", "100", PER_BROKER),
        ("max.connections", "2147483647", KAFKA_DEFAULT),
    ]
    rate = rows["max.connection.creation.rate"]
    assert (rate.value, rate.source) == ("50", DEFAULT)
    # The cluster default lists what is set at its level only.
    assert [
        (e.name, e.value, e.source, e.synonyms)
        for e in config.describe_broker_config(per_broker=False)
    ] == [
        (
            "max.connection.creation.rate",
            "50",
            DEFAULT,
            [("max.connection.creation.rate", "50", DEFAULT)],
        )
    ]


def test_stored_values_survive_a_restart_as_given():
    config = Config({})
    config.alter_dynamic(
        {
            "sasl.kerberos.min.time.before.relogin": "58000",
            "no.such.key": "x",
            "message.max.bytes": " 77 ",
        }
    )
    config.alter_dynamic({"listener.name.plaintext.max.connections": "9"}, per_broker=False)
    stored = config.dynamic_configs()
    assert stored == {
        "broker": {
            "sasl.kerberos.min.time.before.relogin": "58000",
            "no.such.key": "x",
            "message.max.bytes": " 77 ",
        },
        "default": {"listener.name.plaintext.max.connections": "9"},
    }
    again = Config({})
    again.load_dynamic(stored)
    assert again.dynamic_configs() == stored
    assert again.get("sasl.kerberos.min.time.before.relogin") == 58000
    assert again.get("message.max.bytes") == 77
    rows = {e.name: e for e in again.describe_broker_config()}
    assert rows["listener.name.plaintext.max.connections"].source == DEFAULT


def test_delete_and_replace():
    config = Config({})
    config.alter_dynamic({"background.threads": "12", "no.such.key": "x"})
    config.alter_dynamic({}, ["no.such.key", "num.partitions"])  # deleting is never refused
    assert config.dynamic_configs()["broker"] == {"background.threads": "12"}
    config.replace_dynamic({"max.connections": "7"})  # AlterConfigs: the layer becomes this
    assert config.dynamic_configs()["broker"] == {"max.connections": "7"}
    assert config.get("background.threads") == 10


def test_thread_pools_compare_with_the_current_value():
    config = Config({"num.io.threads": "4"})
    assert "double the current value 4" in refused(config, {"num.io.threads": "9"})
    config.alter_dynamic({"num.io.threads": "8"})
    config.alter_dynamic({"num.io.threads": "16"})  # 8 is current now
    assert config.get("num.io.threads") == 16


def test_an_existing_listeners_prefixed_keys_block_listener_updates():
    # Kafka keeps a listener's prefixed keys (other than its TLS stores and connection
    # limits) as it started: storing one is accepted, but then every update that
    # reconfigures listeners is refused until it is deleted again.
    config = Config({"listeners": "PLAINTEXT://:9092"})
    config.alter_dynamic({"listener.name.plaintext.foo": "1", "message.max.bytes": "2000"})
    assert "existing listener ListenerName(PLAINTEXT)" in refused(config, {"max.connections": "10"})
    config.alter_dynamic(
        {"listener.name.other.foo": "1", "max.connections": "10"}, ["listener.name.plaintext.foo"]
    )
    assert config.get("max.connections") == 10
