"""Topic and config administration."""

from __future__ import annotations

import uuid

import pytest

from conformance.raw import (
    batch,
    create_topic,
    fetch,
    first_partition,
    init_producer_id,
    produce,
    retry,
    unique,
    wait_for,
)
from kpy.protocol.messages.alter_configs import AlterConfigsRequest
from kpy.protocol.messages.create_partitions import CreatePartitionsRequest
from kpy.protocol.messages.delete_records import DeleteRecordsRequest
from kpy.protocol.messages.delete_topics import DeleteTopicsRequest
from kpy.protocol.messages.describe_cluster import DescribeClusterRequest
from kpy.protocol.messages.describe_configs import DescribeConfigsRequest
from kpy.protocol.messages.incremental_alter_configs import IncrementalAlterConfigsRequest
from kpy.protocol.messages.metadata import MetadataRequest

pytestmark = pytest.mark.area("admin")


def describe(wire, name):
    req = DescribeConfigsRequest(
        resources=[
            DescribeConfigsRequest.DescribeConfigsResource(
                resource_type=2, resource_name=name, configuration_keys=None
            )
        ],
        include_synonyms=True,
    )
    res = wire.send(req, 4).results[0]
    return res.error_code, {c.name: c for c in res.configs}


def applied(wire, name, key, value):
    """The topic's configs once `key` is `value` (None: no longer set on the topic), as a
    client retries a describe; fails after the usual deadline."""

    def done():
        configs = describe(wire, name)[1]
        entry = configs.get(key)
        ok = entry is not None and (
            entry.config_source != 1 if value is None else entry.value == value
        )
        return configs if ok else None

    return wait_for(done, f"{key}={value} on {name}")


@pytest.mark.kafka("CreateTopics")
@pytest.mark.parametrize("version", list(range(2, 8)))
def test_create_topics_every_version(wire, version):
    """CreateTopics works at each version."""
    assert create_topic(wire, unique(f"ct{version}"), 2, version=version).error_code == 0


@pytest.mark.kafka("CreateTopics errors")
def test_topic_already_exists(wire):
    """Creating an existing topic is TOPIC_ALREADY_EXISTS."""
    name = unique("dup")
    create_topic(wire, name)
    assert create_topic(wire, name).error_code == 36


@pytest.mark.kafka("CreateTopics errors")
def test_replication_factor_above_brokers(wire):
    """A replication factor above the broker count is INVALID_REPLICATION_FACTOR."""
    assert create_topic(wire, unique("rf"), 1, replication_factor=100).error_code == 38


@pytest.mark.kafka("CreateTopics errors")
def test_zero_partitions(wire):
    """Zero partitions is INVALID_PARTITIONS."""
    assert create_topic(wire, unique("zero"), 0).error_code == 37


@pytest.mark.kafka("CreateTopics errors")
@pytest.mark.parametrize(
    "configs", [{"cleanup.policy": "bogus"}, {"no.such.config": "1"}, {"retention.ms": "x"}]
)
def test_invalid_config(wire, configs):
    """Unknown or bad topic configs are INVALID_CONFIG."""
    assert create_topic(wire, unique("cfg"), 1, configs).error_code == 40


@pytest.mark.kafka("topic name rules")
@pytest.mark.parametrize("name", ["bad name", "a" * 250, "..", "slash/x"])
def test_invalid_topic_names(wire, name):
    """Illegal names are INVALID_TOPIC_EXCEPTION."""
    assert create_topic(wire, name).error_code == 17


@pytest.mark.kafka("CreateTopics validate_only")
def test_validate_only(wire):
    """validate_only checks without creating."""
    name = unique("vo")
    assert create_topic(wire, name, 3, validate_only=True).error_code == 0
    md = wire.send(
        MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name=name)],
            allow_auto_topic_creation=False,
        ),
        12,
    )
    assert md.topics[0].error_code == 3


@pytest.mark.kafka("KIP-464 defaults")
def test_default_partitions_and_rf(wire):
    """-1 partitions and replication factor take the broker defaults."""
    res = create_topic(wire, unique("def"), -1, replication_factor=-1)
    assert res.error_code == 0 and res.num_partitions >= 1


@pytest.mark.kafka("CreateTopics then produce")
def test_created_topic_writable(wire):
    """Every partition of a new topic takes writes once the broker serves it; meanwhile it
    answers only errors a producer retries (Kafka serves a topic a moment after CreateTopics
    answers)."""
    name = unique("now")
    assert create_topic(wire, name, 3, wait=False).error_code == 0
    for p in range(3):
        answer = retry(lambda p=p: produce(wire, name, batch(1), partition=p), timeout=10)
        assert answer.error_code == 0


@pytest.mark.kafka("DeleteTopics")
def test_delete_topics_by_name_and_id(wire):
    """Topics are deleted by name (v1-5) and by id (v6); unknown ones are errors. Kafka
    answers in no particular order (it shuffles the results), so they are matched by name."""
    a, b, missing = unique("del"), unique("del"), unique("nope")
    create_topic(wire, a)
    tid = create_topic(wire, b, version=7).topic_id
    resp = wire.send(DeleteTopicsRequest(topic_names=[a, missing], timeout_ms=10000), 5)
    assert {r.name: r.error_code for r in resp.responses} == {a: 0, missing: 3}
    resp = wire.send(
        DeleteTopicsRequest(
            topics=[DeleteTopicsRequest.DeleteTopicState(name=None, topic_id=tid)], timeout_ms=10000
        ),
        6,
    )
    assert [(r.name, r.error_code) for r in resp.responses] == [(b, 0)]
    resp = wire.send(
        DeleteTopicsRequest(
            topics=[DeleteTopicsRequest.DeleteTopicState(name=None, topic_id=uuid.uuid4())],
            timeout_ms=10000,
        ),
        6,
    )
    assert resp.responses[0].error_code == 100


@pytest.mark.kafka("CreatePartitions")
def test_create_partitions(wire):
    """Partitions can be added, never removed (INVALID_PARTITIONS)."""
    name = unique("cp")
    create_topic(wire, name, 2)
    req = CreatePartitionsRequest(
        topics=[
            CreatePartitionsRequest.CreatePartitionsTopic(name=name, count=5, assignments=None)
        ],
        timeout_ms=10000,
    )
    assert wire.send(req, 3).results[0].error_code == 0
    req.topics[0].count = 3
    assert wire.send(req, 3).results[0].error_code == 37
    # Like a new topic, a new partition is served a moment after the answer.
    assert retry(lambda: produce(wire, name, batch(1), partition=4), timeout=10).error_code == 0


@pytest.mark.kafka("DescribeConfigs")
def test_describe_configs_sources(wire):
    """Topic configs show their value and source (topic override vs default)."""
    name = unique("dc")
    create_topic(wire, name, 1, {"retention.ms": "12345"})
    error, configs = describe(wire, name)
    assert error == 0
    assert configs["retention.ms"].value == "12345" and configs["retention.ms"].config_source == 1
    assert configs["cleanup.policy"].value == "delete"
    assert configs["max.message.bytes"].config_source in (4, 5)


@pytest.mark.kafka("DescribeConfigs")
def test_describe_broker_configs(wire):
    """The broker resource (its node id) lists broker configs."""
    md = wire.send(MetadataRequest(topics=[]), 12)
    req = DescribeConfigsRequest(
        resources=[
            DescribeConfigsRequest.DescribeConfigsResource(
                resource_type=4, resource_name=str(md.brokers[0].node_id), configuration_keys=None
            )
        ]
    )
    res = wire.send(req, 4).results[0]
    assert res.error_code == 0 and any(c.name == "num.partitions" for c in res.configs)


@pytest.mark.kafka("DescribeConfigs errors")
def test_describe_configs_unknown_topic(wire):
    """An unknown topic is UNKNOWN_TOPIC_OR_PARTITION."""
    assert describe(wire, unique("nope"))[0] == 3


@pytest.mark.kafka("AlterConfigs")
def test_alter_configs(wire):
    """AlterConfigs replaces overrides and takes effect."""
    name = unique("ac")
    create_topic(wire, name, 1, {"retention.ms": "1000"})
    req = AlterConfigsRequest(
        resources=[
            AlterConfigsRequest.AlterConfigsResource(
                resource_type=2,
                resource_name=name,
                configs=[
                    AlterConfigsRequest.AlterableConfig(name="segment.bytes", value="1048576")
                ],
            )
        ],
        validate_only=False,
    )
    assert wire.send(req, 2).responses[0].error_code == 0
    # Kafka's broker describes from its metadata image, which takes the change a moment after
    # the controller answers: a client sees it after a retry.
    configs = applied(wire, name, "segment.bytes", "1048576")
    assert configs["segment.bytes"].value == "1048576"
    assert configs["retention.ms"].config_source != 1  # the old override is gone


@pytest.mark.kafka("KIP-339 IncrementalAlterConfigs")
def test_incremental_alter_configs(wire):
    """SET, DELETE and APPEND change only the named keys; bad values are INVALID_CONFIG."""
    name = unique("iac")
    create_topic(wire, name, 1, {"retention.ms": "1000"})
    C = IncrementalAlterConfigsRequest.AlterableConfig

    def alter(*configs):
        req = IncrementalAlterConfigsRequest(
            resources=[
                IncrementalAlterConfigsRequest.AlterConfigsResource(
                    resource_type=2, resource_name=name, configs=list(configs)
                )
            ],
            validate_only=False,
        )
        return wire.send(req, 1).responses[0].error_code

    assert alter(C(name="segment.ms", config_operation=0, value="60000")) == 0
    assert alter(C(name="cleanup.policy", config_operation=2, value="compact")) == 0
    assert alter(C(name="retention.ms", config_operation=1, value=None)) == 0
    configs = applied(wire, name, "retention.ms", None)
    assert configs["segment.ms"].value == "60000"
    assert set(configs["cleanup.policy"].value.split(",")) == {"delete", "compact"}
    assert configs["retention.ms"].config_source != 1
    assert alter(C(name="retention.ms", config_operation=0, value="soon")) == 40


@pytest.mark.kafka("KIP-339 IncrementalAlterConfigs")
@pytest.mark.parametrize(
    ("level", "name", "value", "code"),
    [
        ("node", "sasl.kerberos.min.time.before.relogin", "58000", 0),  # librdkafka's 0081
        ("default", "sasl.kerberos.min.time.before.relogin", "58000", 42),  # per broker only
        ("node", "num.io.threads", "9", 0),
        ("default", "log.cleaner.backoff.ms", "20000", 0),
        ("node", "no.such.config.key", "x", 0),  # unknown names are kept
        ("node", "num.partitions", "3", 42),  # not dynamic
        ("node", "ssl.keystore.location", "/x", 42),  # only per listener
        ("node", "sasl.kerberos.min.time.before.relogin", "soon", 42),  # not a long
    ],
)
def test_dynamic_broker_configs(wire, level, name, value, code):
    """Dynamic broker keys are taken per broker or as the cluster default, as Kafka's
    DynamicBrokerConfig says; refusals are INVALID_REQUEST (validate-only: nothing changes)."""
    node = str(wire.send(MetadataRequest(topics=[]), 12).brokers[0].node_id)
    req = IncrementalAlterConfigsRequest(
        resources=[
            IncrementalAlterConfigsRequest.AlterConfigsResource(
                resource_type=4,
                resource_name=node if level == "node" else "",
                configs=[
                    IncrementalAlterConfigsRequest.AlterableConfig(
                        name=name, config_operation=0, value=value
                    )
                ],
            )
        ],
        validate_only=True,
    )
    assert wire.send(req, 1).responses[0].error_code == code


@pytest.mark.kafka("KIP-107 DeleteRecords")
def test_delete_records(wire):
    """DeleteRecords moves the log start offset; reads below it are OFFSET_OUT_OF_RANGE."""
    name = unique("dr")
    create_topic(wire, name)
    produce(wire, name, batch(10))
    produce(wire, name, batch(10))
    req = DeleteRecordsRequest(
        topics=[
            DeleteRecordsRequest.DeleteRecordsTopic(
                name=name,
                partitions=[
                    DeleteRecordsRequest.DeleteRecordsPartition(partition_index=0, offset=10)
                ],
            )
        ],
        timeout_ms=10000,
    )
    res = wire.send(req, 2).topics[0].partitions[0]
    assert res.error_code == 0 and res.low_watermark == 10
    assert first_partition(fetch(wire, name, 5)).error_code == 1
    req.topics[0].partitions[0].offset = 500
    assert wire.send(req, 2).topics[0].partitions[0].error_code == 1


@pytest.mark.kafka("KIP-700 DescribeCluster")
def test_describe_cluster(wire):
    """DescribeCluster lists the brokers and the cluster id."""
    resp = wire.send(DescribeClusterRequest(), 0)
    md = wire.send(MetadataRequest(topics=[]), 12)
    assert resp.error_code == 0 and resp.cluster_id == md.cluster_id
    assert {b.broker_id for b in resp.brokers} == {b.node_id for b in md.brokers}


@pytest.mark.kafka("KIP-113 DescribeLogDirs")
def test_describe_log_dirs(wire):
    """DescribeLogDirs reports the partitions of a topic with their sizes."""
    from kpy.protocol.messages.describe_log_dirs import DescribeLogDirsRequest

    name = unique("ld")
    create_topic(wire, name, 2)
    produce(wire, name, batch(3))
    req = DescribeLogDirsRequest(
        topics=[DescribeLogDirsRequest.DescribableLogDirTopic(topic=name, partitions=[0, 1])]
    )
    resp = wire.send(req, 4)
    parts = {
        p.partition_index: p.partition_size
        for r in resp.results
        for t in r.topics
        if t.name == name
        for p in t.partitions
    }
    assert set(parts) == {0, 1} and parts[0] > parts[1] >= 0


@pytest.mark.kafka("KIP-966 DescribeTopicPartitions")
def test_describe_topic_partitions_paging(wire):
    """DescribeTopicPartitions pages through partitions with a cursor."""
    from kpy.protocol.messages.describe_topic_partitions import DescribeTopicPartitionsRequest as R

    name = unique("dtp")
    create_topic(wire, name, 5)
    first = wire.send(R(topics=[R.TopicRequest(name=name)], response_partition_limit=3), 0)
    assert [p.partition_index for p in first.topics[0].partitions] == [0, 1, 2]
    assert first.next_cursor is not None and first.next_cursor.partition_index == 3
    rest = wire.send(
        R(
            topics=[R.TopicRequest(name=name)],
            response_partition_limit=3,
            cursor=R.Cursor(topic_name=name, partition_index=3),
        ),
        0,
    )
    assert [p.partition_index for p in rest.topics[0].partitions] == [3, 4]


@pytest.mark.kafka("KIP-664 DescribeProducers")
def test_describe_producers(wire):
    """An idempotent producer that wrote to a partition is listed with its last sequence."""
    from kpy.protocol.messages.describe_producers import DescribeProducersRequest as R

    name = unique("dp")
    create_topic(wire, name, 1)
    init = init_producer_id(wire)
    produce(
        wire,
        name,
        batch(3, producer_id=init.producer_id, producer_epoch=init.producer_epoch, base_sequence=0),
    )
    resp = wire.send(R(topics=[R.TopicRequest(name=name, partition_indexes=[0])]), 0)
    states = resp.topics[0].partitions[0].active_producers
    assert [(s.producer_id, s.last_sequence) for s in states] == [(init.producer_id, 2)]


@pytest.mark.kafka("KIP-460 ElectLeaders")
def test_elect_leaders_not_needed(wire):
    """Electing the preferred leader where it already leads answers ELECTION_NOT_NEEDED."""
    from kpy.protocol.messages.elect_leaders import ElectLeadersRequest as R

    name = unique("el")
    create_topic(wire, name, 1)
    resp = wire.send(
        R(
            election_type=0,
            topic_partitions=[R.TopicPartitions(topic=name, partitions=[0])],
            timeout_ms=5000,
        ),
        2,
    )
    assert resp.replica_election_results[0].partition_result[0].error_code == 84
