"""Admin requests answered as Apache Kafka 4.4 answers them (divergences the differential
harness, conformance/differential.py, found): CreateTopics and CreatePartitions refuse a
request too large for Kafka's controller, answer a name given twice once, and give refused
topics an empty config list."""

from __future__ import annotations

import pytest

from conformance.raw import create_topic
from conformance.wire import WireClient
from kpy.protocol.messages.create_partitions import CreatePartitionsRequest
from kpy.protocol.messages.create_topics import CreateTopicsRequest
from kpy.protocol.messages.metadata import MetadataRequest

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
        assert [(r.name, r.error_code) for r in results] == [
            (small, POLICY_VIOLATION),
            (big, POLICY_VIOLATION),
            ("bad name!", POLICY_VIOLATION),
        ]
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
        assert exists(wire, other) and not exists(wire, dup)


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
        assert [(r.name, r.error_code) for r in results] == [
            (a, POLICY_VIOLATION),
            (b, POLICY_VIOLATION),
        ]
        # 10000 new partitions in all is still allowed; a topic nobody created adds none.
        req.topics = [CP(name=a, count=5001), CP(name=f"{topic_name}-none", count=20_000)]
        req.validate_only = True
        assert [r.error_code for r in wire.send(req, 3).results] == [0, 3]


def test_create_partitions_duplicate_answered_once(broker, topic_name):
    with WireClient(broker.bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        req = CreatePartitionsRequest(
            topics=[CP(name=topic_name, count=3), CP(name=topic_name, count=3)],
            timeout_ms=10000,
        )
        results = wire.send(req, 3).results
        assert [(r.name, r.error_code) for r in results] == [(topic_name, INVALID_REQUEST)]
