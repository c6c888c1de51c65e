"""Requests answered as Apache Kafka 4.4 answers them, where the differential harness
(conformance/differential.py) found kpy answering otherwise: CreateTopics and CreatePartitions
refuse a request too large for Kafka's controller, answer a name given twice once, and give
refused topics an empty config list; ListOffsets and DeleteRecords leave out topics asked
without partitions; DescribeTopicPartitions and DescribeCluster give authorized operations;
DescribeCluster tells a controller's endpoint type from an unknown one; a refused JoinGroup has
a null protocol name from v7; DeleteGroups and ListTransactions answer a name given twice
once; looking for a transaction coordinator creates __transaction_state; DescribeConfigs with
an empty list of keys describes every config."""

from __future__ import annotations

import pytest

from conformance.raw import create_topic
from conformance.wire import WireClient
from kpy.protocol.messages.create_partitions import CreatePartitionsRequest
from kpy.protocol.messages.create_topics import CreateTopicsRequest
from kpy.protocol.messages.delete_groups import DeleteGroupsRequest
from kpy.protocol.messages.delete_records import DeleteRecordsRequest
from kpy.protocol.messages.describe_cluster import DescribeClusterRequest
from kpy.protocol.messages.describe_configs import DescribeConfigsRequest
from kpy.protocol.messages.describe_topic_partitions import DescribeTopicPartitionsRequest
from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest
from kpy.protocol.messages.join_group import JoinGroupRequest
from kpy.protocol.messages.list_offsets import ListOffsetsRequest
from kpy.protocol.messages.list_transactions import ListTransactionsRequest
from kpy.protocol.messages.metadata import MetadataRequest
from tests.integration.helpers import wait_for

INVALID_REQUEST = 42
POLICY_VIOLATION = 44
UNKNOWN_TOPIC_OR_PARTITION = 3
CT = CreateTopicsRequest.CreatableTopic
CP = CreatePartitionsRequest.CreatePartitionsTopic

pytestmark = pytest.mark.timeout(60)


def create(wire, topics, *, validate_only=False, version=7):
    req = CreateTopicsRequest(topics=topics, timeout_ms=10000, validate_only=validate_only)
    return wire.send(req, version).topics


def exists(wire, name):
    md = wire.send(
        MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name=name)],
            allow_auto_topic_creation=False,
        ),
        12,
    )
    return md.topics[0].error_code != UNKNOWN_TOPIC_OR_PARTITION


@pytest.mark.parametrize("validate_only", [True, False])
def test_create_topics_over_10000_partitions_refused_whole(broker, topic_name, validate_only):
    with WireClient(broker.bootstrap) as wire:
        small, big = f"{topic_name}-small", f"{topic_name}-big"
        topics = [
            CT(name=small, num_partitions=1, replication_factor=1),
            CT(name=big, num_partitions=10_000, replication_factor=1),
            CT(name="bad name!", num_partitions=1, replication_factor=1),
        ]
        results = create(wire, topics, validate_only=validate_only)
        assert {r.name: r.error_code for r in results} == {
            small: POLICY_VIOLATION,
            big: POLICY_VIOLATION,
            "bad name!": POLICY_VIOLATION,
        }
        assert all(r.configs == [] and r.num_partitions == -1 for r in results)
        assert not exists(wire, small) and not exists(wire, big)


def test_create_topics_counts_metadata_records(broker, topic_name):
    """10000 partitions in two topics pass the partition cap but not the record cap (a record
    per topic and per partition), as in Kafka."""
    with WireClient(broker.bootstrap) as wire:
        topics = [
            CT(name=f"{topic_name}-{i}", num_partitions=5000, replication_factor=1)
            for i in range(2)
        ]
        results = create(wire, topics, validate_only=True)
        assert [r.error_code for r in results] == [POLICY_VIOLATION] * 2


def test_create_topics_duplicate_answered_once(broker, topic_name):
    with WireClient(broker.bootstrap) as wire:
        dup, other = f"{topic_name}-dup", f"{topic_name}-other"
        topics = [
            CT(name=dup, num_partitions=6000, replication_factor=1),
            CT(name=dup, num_partitions=6000, replication_factor=1),
            CT(name=other, num_partitions=1, replication_factor=1),
        ]
        results = {r.name: r for r in create(wire, topics)}
        assert len(results) == 2
        assert results[dup].error_code == INVALID_REQUEST and results[dup].configs == []
        assert results[other].error_code == 0 and results[other].configs
        wait_for(lambda: exists(wire, other), message=f"{other} to be listed")
        assert not exists(wire, dup)


@pytest.mark.parametrize("version", [5, 7])
def test_create_topics_refused_topic_has_empty_configs(broker, topic_name, version):
    with WireClient(broker.bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        again = create(
            wire, [CT(name=topic_name, num_partitions=1, replication_factor=1)], version=version
        )
        assert again[0].error_code == 36 and again[0].configs == []


@pytest.mark.parametrize("validate_only", [True, False])
def test_create_partitions_over_10000_new_refused_whole(broker, topic_name, validate_only):
    with WireClient(broker.bootstrap) as wire:
        a, b = f"{topic_name}-a", f"{topic_name}-b"
        create_topic(wire, a, 1)
        create_topic(wire, b, 1)
        req = CreatePartitionsRequest(
            topics=[CP(name=a, count=5001), CP(name=b, count=5002)],
            timeout_ms=10000,
            validate_only=validate_only,
        )
        results = wire.send(req, 3).results
        assert {r.name: r.error_code for r in results} == {a: POLICY_VIOLATION, b: POLICY_VIOLATION}
        # 10000 new partitions in all is still allowed; a topic nobody created adds none.
        none = f"{topic_name}-none"
        req.topics = [CP(name=a, count=5001), CP(name=none, count=20_000)]
        req.validate_only = True
        assert {r.name: r.error_code for r in wire.send(req, 3).results} == {a: 0, none: 3}


def test_create_partitions_duplicate_answered_once(broker, topic_name):
    with WireClient(broker.bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        req = CreatePartitionsRequest(
            topics=[CP(name=topic_name, count=3), CP(name=topic_name, count=3)],
            timeout_ms=10000,
        )
        results = wire.send(req, 3).results
        assert [(r.name, r.error_code) for r in results] == [(topic_name, INVALID_REQUEST)]


def test_topics_without_partitions_left_out(broker, topic_name):
    LO, DR = ListOffsetsRequest, DeleteRecordsRequest
    with WireClient(broker.bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        lo = LO(
            replica_id=-1,
            topics=[
                LO.ListOffsetsTopic(name="bad name!", partitions=[]),
                LO.ListOffsetsTopic(
                    name=topic_name,
                    partitions=[LO.ListOffsetsPartition(partition_index=0, timestamp=-1)],
                ),
            ],
        )
        for version in (1, 7, 10):
            assert [t.name for t in wire.send(lo, version).topics] == [topic_name]
        dr = DR(
            topics=[
                DR.DeleteRecordsTopic(name="bad name!", partitions=[]),
                DR.DeleteRecordsTopic(
                    name=topic_name,
                    partitions=[DR.DeleteRecordsPartition(partition_index=0, offset=0)],
                ),
            ],
            timeout_ms=10000,
        )
        assert [t.name for t in wire.send(dr, 2).topics] == [topic_name]


def test_describe_topic_partitions_authorized_operations(broker, topic_name):
    """Every topic operation (3576), for a topic nobody created too."""
    DTP = DescribeTopicPartitionsRequest
    with WireClient(broker.bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        wait_for(lambda: exists(wire, topic_name), message=f"{topic_name} to be listed")
        names = [topic_name, f"{topic_name}-none"]
        req = DTP(topics=[DTP.TopicRequest(name=n) for n in names])
        topics = wire.send(req, 0).topics
        assert [(t.error_code, t.topic_authorized_operations) for t in topics] == [
            (0, 3576),
            (UNKNOWN_TOPIC_OR_PARTITION, 3576),
        ]


@pytest.mark.parametrize("version", [6, 7, 9])
def test_refused_join_protocol_name(broker, topic_name, version):
    req = JoinGroupRequest(
        group_id=topic_name,
        session_timeout_ms=1,  # below group.min.session.timeout.ms: INVALID_SESSION_TIMEOUT
        rebalance_timeout_ms=1000,
        member_id="",
        protocol_type="consumer",
        protocols=[JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=b"")],
    )
    with WireClient(broker.bootstrap) as wire:
        resp = wire.send(req, version)
    assert resp.error_code == 26
    assert resp.protocol_name == (None if version >= 7 else "")


def test_describe_cluster_operations_and_endpoint_types(broker):
    with WireClient(broker.bootstrap) as wire:
        asked = wire.send(DescribeClusterRequest(include_cluster_authorized_operations=True), 1)
        assert asked.error_code == 0 and asked.cluster_authorized_operations == 8096
        plain = wire.send(DescribeClusterRequest(include_cluster_authorized_operations=False), 0)
        assert plain.cluster_authorized_operations == -(2**31)
        for endpoint_type, code in [(2, 114), (0, 115), (3, 115)]:
            resp = wire.send(DescribeClusterRequest(endpoint_type=endpoint_type), 1)
            assert (resp.error_code, resp.cluster_id, resp.controller_id, resp.brokers) == (
                code,
                "",
                -1,
                [],
            )


def test_names_given_twice_answered_once(broker, topic_name):
    with WireClient(broker.bootstrap) as wire:
        groups = [f"{topic_name}-a", f"{topic_name}-b", f"{topic_name}-a"]
        results = wire.send(DeleteGroupsRequest(groups_names=groups), 2).results
        assert sorted(r.group_id for r in results) == sorted(set(groups))
        req = ListTransactionsRequest(state_filters=["b", "a", "b", "Ongoing"])
        assert wire.send(req, 1).unknown_state_filters == ["b", "a"]


def test_find_transaction_coordinator_creates_its_topic(fresh_broker):
    with WireClient(fresh_broker.bootstrap) as wire:
        req = FindCoordinatorRequest(key_type=1, coordinator_keys=["some-transactional-id"])
        wire.send(req, 4)  # Kafka may answer COORDINATOR_NOT_AVAILABLE while creating it
        wait_for(lambda: exists(wire, "__transaction_state"), message="__transaction_state listed")
        coordinator = wire.send(req, 4).coordinators[0]
        assert coordinator.error_code == 0 and coordinator.node_id >= 0


def test_describe_configs_empty_keys_mean_all(broker, topic_name):
    DC = DescribeConfigsRequest
    with WireClient(broker.bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        wait_for(lambda: exists(wire, topic_name), message=f"{topic_name} to be listed")
        counts = []
        for keys in (None, []):
            resource = DC.DescribeConfigsResource(
                resource_type=2, resource_name=topic_name, configuration_keys=keys
            )
            result = wire.send(DC(resources=[resource]), 4).results[0]
            assert result.error_code == 0
            counts.append(len(result.configs))
        assert counts[0] > 20 and counts[1] == counts[0]
