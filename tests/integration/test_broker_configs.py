"""Dynamic broker configs through confluent-kafka (librdkafka) against a real broker: the keys
Kafka 4.4 can change at run time are accepted, described back with their source, refused as
Kafka refuses them, and kept over a restart (librdkafka's test 0081 sets
sasl.kerberos.min.time.before.relogin on a broker). confluent-kafka's Python API refuses an
resource name, and so does kafka-python's: the cluster default (the empty broker name) is set
with raw requests."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
)

from conformance.wire import WireClient
from kpy.protocol.messages.alter_configs import AlterConfigsRequest
from kpy.protocol.messages.incremental_alter_configs import IncrementalAlterConfigsRequest

SET, DELETE, APPEND = AlterConfigOpType.SET, AlterConfigOpType.DELETE, AlterConfigOpType.APPEND

# A sample of each family of Kafka's dynamic broker keys (DynamicBrokerConfig): per broker.
PER_BROKER = {
    "sasl.kerberos.min.time.before.relogin": "58000",  # SASL (listener config)
    "ssl.client.auth": "requested",  # TLS
    "listener.name.plaintext.ssl.keystore.type": "PKCS12",  # TLS stores, per listener
    "num.io.threads": "16",  # DynamicThreadPool
    "log.cleaner.threads": "2",  # the log cleaner
    "log.retention.ms": "7200000",  # DynamicLogConfig (kpy acts on this one)
    "remote.log.reader.threads": "5",  # the remote log manager
    "producer.id.expiration.ms": "3600000",  # the producer state manager
    "metric.reporters": "",  # metrics reporters
}
# Cluster-wide keys, set as the cluster default (an empty broker name).
CLUSTER_DEFAULT = {
    "max.connection.creation.rate": "500",  # connection quotas
    "log.cleaner.backoff.ms": "20000",
    "group.consumer.assignment.interval.ms": "2000",
}


def admin_of(broker) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def incremental(admin, name: str, ops: dict[str, tuple[AlterConfigOpType, str | None]]):
    res = ConfigResource(
        ConfigResource.Type.BROKER,
        name,
        incremental_configs=[
            ConfigEntry(k, v, incremental_operation=op) for k, (op, v) in ops.items()
        ],
    )
    return admin.incremental_alter_configs([res])[res].result(15)


def cluster_default(broker, ops: dict[str, str | None], *, legacy: bool = False):
    """Set (or, for None, delete) values as the cluster default: (error code, message)."""
    with WireClient(broker.bootstrap) as w:
        if legacy:
            R = AlterConfigsRequest
            configs = [R.AlterableConfig(name=k, value=v) for k, v in ops.items()]
            req = R(resources=[R.AlterConfigsResource(resource_type=4, configs=configs)])
            resp = w.send(req, 2)
        else:
            I = IncrementalAlterConfigsRequest  # noqa: E741
            configs = [
                I.AlterableConfig(name=k, config_operation=1 if v is None else 0, value=v)
                for k, v in ops.items()
            ]
            req = I(resources=[I.AlterConfigsResource(resource_type=4, configs=configs)])
            resp = w.send(req, 1)
    result = resp.responses[0]
    assert result.resource_name == ""
    return result.error_code, result.error_message


def error_of(call) -> KafkaError:
    with pytest.raises(KafkaException) as err:
        call()
    return err.value.args[0]


def described(admin, node: str) -> dict[str, ConfigEntry]:
    res = ConfigResource(ConfigResource.Type.BROKER, node)
    return admin.describe_configs([res])[res].result(15)


def test_incremental_alter_configs_of_every_family(fresh_broker):
    admin = admin_of(fresh_broker)
    node = str(admin.list_topics(timeout=10).controller_id)
    incremental(admin, node, {k: (SET, v) for k, v in PER_BROKER.items()})
    assert cluster_default(fresh_broker, CLUSTER_DEFAULT)[0] == 0
    incremental(admin, node, {"sasl.enabled.mechanisms": (APPEND, "PLAIN")})

    def check(entries):
        for key, value in PER_BROKER.items():
            assert (entries[key].value, entries[key].source) == (
                value,
                ConfigSource.DYNAMIC_BROKER_CONFIG.value,
            ), key
        for key, value in CLUSTER_DEFAULT.items():
            assert (entries[key].value, entries[key].source) == (
                value,
                ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value,
            ), key
        assert entries["sasl.enabled.mechanisms"].value == "GSSAPI,PLAIN"

    check(described(admin, node))
    fresh_broker.restart()
    admin = admin_of(fresh_broker)
    check(described(admin, node))

    incremental(admin, node, {k: (DELETE, None) for k in PER_BROKER})
    entries = described(admin, node)
    relogin = entries["sasl.kerberos.min.time.before.relogin"]
    assert (relogin.value, relogin.source) == ("60000", ConfigSource.DEFAULT_CONFIG.value)


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ({"num.partitions": (SET, "3")}, "Cannot update these configs dynamically"),
        ({"ssl.keystore.location": (SET, "/x")}, "using the listener prefix"),
        ({"sasl.kerberos.min.time.before.relogin": (SET, "soon")}, "type LONG"),
        ({"background.threads": (SET, "0")}, "Value must be at least 1"),
        ({"num.io.threads": (SET, "100")}, "double the current value 8"),
    ],
)
def test_invalid_broker_configs_are_invalid_request(broker, ops, message):
    admin = admin_of(broker)
    node = str(admin.list_topics(timeout=10).controller_id)
    error = error_of(lambda: incremental(admin, node, ops))
    assert error.code() == KafkaError.INVALID_REQUEST
    assert message in error.str()


def test_per_broker_keys_are_refused_as_the_cluster_default(broker):
    for legacy in (False, True):
        code, message = cluster_default(
            broker, {"sasl.kerberos.min.time.before.relogin": "58000"}, legacy=legacy
        )
        assert code == KafkaError.INVALID_REQUEST
        assert "broker id must be specified" in message


def test_alter_configs_replaces_a_brokers_dynamic_configs(fresh_broker):
    # The older AlterConfigs, which librdkafka's 0081 uses: the resource's whole set.
    admin = admin_of(fresh_broker)
    node = str(admin.list_topics(timeout=10).controller_id)

    def alter(name, configs):
        res = ConfigResource(ConfigResource.Type.BROKER, name, set_config=configs)
        return admin.alter_configs([res])[res].result(15)

    alter(node, {"sasl.kerberos.min.time.before.relogin": "58000", "num.io.threads": "12"})
    alter(node, {"sasl.kerberos.min.time.before.relogin": "59000"})
    entries = described(admin, node)
    assert entries["sasl.kerberos.min.time.before.relogin"].value == "59000"
    assert entries["num.io.threads"].source == ConfigSource.DEFAULT_CONFIG.value
    error = error_of(lambda: alter(node, {"sasl.kerberos.min.time.before.relogin": "x"}))
    assert error.code() == KafkaError.INVALID_REQUEST
    assert described(admin, node)["sasl.kerberos.min.time.before.relogin"].value == "59000"
