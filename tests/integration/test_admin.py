"""Admin calls through kafka-python's and confluent-kafka's admin clients, and restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from conformance.wire import WireClient
from kpy.protocol.messages.create_topics import CreateTopicsRequest
from kpy.protocol.messages.describe_configs import DescribeConfigsRequest
from tests.integration.helpers import wait_for


def test_confluent_admin_topic_lifecycle(broker, topic_name):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 2, 1, config={"retention.ms": "3600000"})])[
        topic_name
    ].result(15)
    md = admin.list_topics(timeout=10)
    assert len(md.topics[topic_name].partitions) == 2
    assert md.topics[topic_name].partitions[0].leader == md.controller_id

    # Validation errors come back as exceptions with Kafka's codes.
    with pytest.raises(Exception, match="TOPIC_ALREADY_EXISTS|already exists"):
        admin.create_topics([NewTopic(topic_name, 1, 1)])[topic_name].result(15)
    bad = topic_name + "-rf"
    with pytest.raises(Exception, match="REPLICATION_FACTOR|replication"):
        admin.create_topics([NewTopic(bad, 1, 3)])[bad].result(15)

    admin.create_partitions([NewPartitions(topic_name, 5)])[topic_name].result(15)
    assert len(admin.list_topics(timeout=10).topics[topic_name].partitions) == 5

    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    configs = admin.describe_configs([res])[res].result(15)
    assert configs["retention.ms"].value == "3600000"
    assert configs["cleanup.policy"].value == "delete"

    alter = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic_name,
        incremental_configs=[
            ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    admin.incremental_alter_configs([alter])[alter].result(15)
    configs = admin.describe_configs([res])[res].result(15)
    assert configs["retention.ms"].value == "7200000"

    broker_res = ConfigResource(ConfigResource.Type.BROKER, str(md.controller_id))
    broker_configs = admin.describe_configs([broker_res])[broker_res].result(15)
    assert "log.segment.bytes" in broker_configs

    cluster = admin.describe_cluster().result(15)
    assert cluster.cluster_id and len(cluster.nodes) == 1

    admin.delete_topics([topic_name])[topic_name].result(15)
    wait_for(
        lambda: topic_name not in admin.list_topics(timeout=10).topics, message="topic deleted"
    )


def test_confluent_delete_records_and_offsets(broker, topic_name):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 1, 1)])[topic_name].result(15)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        p.produce(topic_name, value=str(i).encode())
    p.flush(10)
    tp = TopicPartition(topic_name, 0, 4)
    result = admin.delete_records([tp])[tp].result(15)
    assert result.low_watermark == 4
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "g-" + topic_name})
    low, high = c.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10)
    c.close()
    assert (low, high) == (4, 10)


def test_confluent_group_admin_and_lag(broker, topic_name):
    from confluent_kafka import ConsumerGroupTopicPartitions

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(15)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(20):
        p.produce(topic_name, value=b"x", partition=i % 2)
    p.flush(10)
    group = "g-" + topic_name
    c = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([topic_name])
    wait_for(
        lambda: c.poll(0.2) is not None and len(c.assignment()) == 2,
        timeout=20,
        message="assignment",
    )
    c.commit(
        offsets=[TopicPartition(topic_name, 0, 3), TopicPartition(topic_name, 1, 5)],
        asynchronous=False,
    )

    listed = admin.list_consumer_groups().result(15)
    assert group in {g.group_id for g in listed.valid}
    desc = admin.describe_consumer_groups([group])[group].result(15)
    assert len(desc.members) == 1 and str(desc.state).endswith("STABLE")
    assert len(desc.members[0].assignment.topic_partitions) == 2

    offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[
        group
    ].result(15)
    committed = {tp.partition: tp.offset for tp in offsets.topic_partitions}
    assert committed == {0: 3, 1: 5}
    lag = {p: 10 - off for p, off in committed.items()}
    assert lag == {0: 7, 1: 5}

    # Deleting a group with a live member is refused; after the member leaves it works.
    with pytest.raises(Exception, match="NON_EMPTY_GROUP|not empty"):
        admin.delete_consumer_groups([group])[group].result(15)
    c.close()
    admin.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic_name, 0, 9)])]
    )[group].result(15)
    offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[
        group
    ].result(15)
    assert {tp.partition: tp.offset for tp in offsets.topic_partitions}[0] == 9
    admin.delete_consumer_groups([group])[group].result(15)
    assert group not in {g.group_id for g in admin.list_consumer_groups().result(15).valid}


def test_kafka_python_admin(broker, topic_name):
    from kafka.admin import ConfigResource as KConfigResource
    from kafka.admin import ConfigResourceType, KafkaAdminClient
    from kafka.admin import NewPartitions as KNewPartitions
    from kafka.admin import NewTopic as KNewTopic

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics(
            [KNewTopic(topic_name, 2, 1, topic_configs={"segment.bytes": "1048576"})]
        )
        assert topic_name in admin.list_topics()
        described = admin.describe_topics([topic_name])
        assert len(described[0]["partitions"]) == 2
        admin.create_partitions({topic_name: KNewPartitions(3)})
        assert len(admin.describe_topics([topic_name])[0]["partitions"]) == 3
        configs = admin.describe_configs([KConfigResource(ConfigResourceType.TOPIC, topic_name)])
        text = str(configs)
        assert "segment.bytes" in text and "1048576" in text
        admin.alter_configs(
            [
                KConfigResource(
                    ConfigResourceType.TOPIC, topic_name, configs={"retention.ms": "1000000"}
                )
            ]
        )
        assert "1000000" in str(
            admin.describe_configs([KConfigResource(ConfigResourceType.TOPIC, topic_name)])
        )
        assert admin.describe_cluster()["cluster_id"]
        admin.delete_topics([topic_name])
        wait_for(lambda: topic_name not in admin.list_topics(), message="topic deleted")
    finally:
        admin.close()


def test_data_survives_restart_and_crash(fresh_broker, topic_name):
    admin = AdminClient({"bootstrap.servers": fresh_broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(15)
    p = Producer({"bootstrap.servers": fresh_broker.bootstrap, "acks": "all"})
    for i in range(50):
        p.produce(topic_name, value=str(i).encode(), partition=i % 2)
    assert p.flush(10) == 0
    for crash in (False, True):
        fresh_broker.restart(crash=crash)
        c = Consumer(
            {
                "bootstrap.servers": fresh_broker.bootstrap,
                "group.id": f"g-{crash}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        c.assign([TopicPartition(topic_name, 0, 0), TopicPartition(topic_name, 1, 0)])
        got: list = []

        def poll_all(c=c, got=got):
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append(m)
            return len(got) >= 50

        try:
            wait_for(poll_all, timeout=20, message="all records after restart")
        finally:
            c.close()
        assert sorted(int(m.value()) for m in got) == list(range(50))


def test_broker_config_change_persists_and_takes_effect(fresh_broker, topic_name):
    admin = AdminClient({"bootstrap.servers": fresh_broker.bootstrap})
    node = str(admin.list_topics(timeout=10).controller_id)
    alter = ConfigResource(
        ConfigResource.Type.BROKER,
        node,
        incremental_configs=[
            ConfigEntry("log.retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    admin.incremental_alter_configs([alter])[alter].result(15)
    admin.create_topics([NewTopic(topic_name, 1, 1)])[topic_name].result(15)
    fresh_broker.restart()
    admin = AdminClient({"bootstrap.servers": fresh_broker.bootstrap})
    broker_res = ConfigResource(ConfigResource.Type.BROKER, node)
    assert (
        admin.describe_configs([broker_res])[broker_res].result(15)["log.retention.ms"].value
        == "3600000"
    )
    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    # The topic has no override, so it inherits the dynamic broker value.
    assert admin.describe_configs([res])[res].result(15)["retention.ms"].value == "3600000"


KAFKA_TOPIC_CONFIGS = (
    Path(__file__).resolve().parents[1] / "fixtures" / "kafka-4.4-topic-configs.txt"
)


def test_new_topic_configs_are_kafka_44s(fresh_broker, topic_name):
    """DescribeConfigs of a new topic on a new broker lists what Apache Kafka 4.4 lists, with
    the same values, sources and types (tests/fixtures/kafka-4.4-topic-configs.txt was read
    off Kafka 4.4.0): its newer keys, no message.downconversion.enable, and min.insync.replicas
    from the cluster-wide default that a new Kafka 4.4 cluster starts with."""
    expected = {}
    for line in KAFKA_TOPIC_CONFIGS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, value, source, type_ = line.split(" ")
            expected[name] = (value, int(source), int(type_))
    with WireClient(fresh_broker.bootstrap) as c:
        topic = CreateTopicsRequest.CreatableTopic
        created = c.send(
            CreateTopicsRequest(
                topics=[topic(name=topic_name, num_partitions=1, replication_factor=1)],
                timeout_ms=5000,
            ),
            7,
        )
        assert created.topics[0].error_code == 0
        resource = DescribeConfigsRequest.DescribeConfigsResource
        described = c.send(
            DescribeConfigsRequest(resources=[resource(resource_type=2, resource_name=topic_name)]),
            4,
        )
    got = {
        e.name: (e.value if e.value is not None else "<null>", e.config_source, e.config_type)
        for e in described.results[0].configs
    }
    assert got == expected


def test_empty_cleanup_policy_is_accepted(broker, topic_name):
    """Kafka 4.4 accepts cleanup.policy="" (no deletion, no compaction); an empty item is
    still refused."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    bad = admin.create_topics(
        [NewTopic(topic_name + "-bad", 1, 1, config={"cleanup.policy": "delete,"})]
    )
    with pytest.raises(KafkaException, match="values must not be empty"):
        bad[topic_name + "-bad"].result(15)
    fs = admin.create_topics([NewTopic(topic_name, 1, 1, config={"cleanup.policy": ""})])
    fs[topic_name].result(15)
    res = ConfigResource(ResourceType.TOPIC, topic_name)
    configs = admin.describe_configs([res])[res].result(15)
    assert configs["cleanup.policy"].value == ""
    assert configs["cleanup.policy"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
