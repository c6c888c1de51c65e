"""Metadata: brokers, cluster id, topics, auto-creation, errors."""

from __future__ import annotations

import uuid

import pytest

from conformance.raw import create_topic, unique
from kpy.protocol.messages.metadata import MetadataRequest

pytestmark = pytest.mark.area("metadata")
T = MetadataRequest.MetadataRequestTopic


@pytest.mark.kafka("protocol guide: Metadata")
@pytest.mark.parametrize("version", list(range(0, 13)))
def test_metadata_every_version(wire, version):
    """Metadata answers at every version with at least one broker with a host and port."""
    name = unique(f"md{version}")
    create_topic(wire, name, 2)
    resp = wire.send(MetadataRequest(topics=[T(name=name)]), version)
    assert resp.brokers and all(b.host and b.port > 0 for b in resp.brokers)
    assert resp.topics[0].error_code == 0 and len(resp.topics[0].partitions) == 2


@pytest.mark.kafka("KIP-78")
def test_cluster_id_and_controller(wire):
    """v2+ carries a cluster id; the controller is one of the brokers."""
    resp = wire.send(MetadataRequest(topics=[]), 12)
    assert resp.cluster_id
    assert resp.controller_id in {b.node_id for b in resp.brokers}


@pytest.mark.kafka("broker config auto.create.topics.enable")
def test_auto_create(wire):
    """A missing topic requested with auto-creation allowed is created and usable at once."""
    name = unique("auto")
    resp = wire.send(MetadataRequest(topics=[T(name=name)], allow_auto_topic_creation=True), 12)
    t = resp.topics[0]
    assert t.error_code in (0, 5)  # Kafka may answer LEADER_NOT_AVAILABLE the first time
    again = wire.send(MetadataRequest(topics=[T(name=name)], allow_auto_topic_creation=False), 12)
    assert again.topics[0].error_code == 0 and again.topics[0].partitions[0].leader_id >= 0


@pytest.mark.kafka("protocol guide: error codes")
def test_unknown_topic_without_auto_create(wire):
    """UNKNOWN_TOPIC_OR_PARTITION when auto-creation is not allowed."""
    resp = wire.send(
        MetadataRequest(topics=[T(name=unique("none"))], allow_auto_topic_creation=False), 12
    )
    assert resp.topics[0].error_code == 3


@pytest.mark.kafka("topic name rules")
def test_invalid_topic_name(wire):
    """An illegal topic name is INVALID_TOPIC_EXCEPTION."""
    resp = wire.send(MetadataRequest(topics=[T(name="no spaces allowed")]), 12)
    assert resp.topics[0].error_code == 17


@pytest.mark.kafka("KIP-516")
def test_topic_ids(wire):
    """v10+ gives topic ids; a topic can be looked up by id; unknown ids are UNKNOWN_TOPIC_ID."""
    name = unique("id")
    created = create_topic(wire, name, 1, version=7)
    resp = wire.send(MetadataRequest(topics=[T(name=name)]), 12)
    tid = resp.topics[0].topic_id
    assert tid != uuid.UUID(int=0) and tid == created.topic_id
    by_id = wire.send(MetadataRequest(topics=[T(name=None, topic_id=tid)]), 12)
    assert by_id.topics[0].name == name
    unknown = wire.send(MetadataRequest(topics=[T(name=None, topic_id=uuid.uuid4())]), 12)
    assert unknown.topics[0].error_code == 100


@pytest.mark.kafka("KIP-320")
def test_leader_epoch_present(wire):
    """v7+ partitions carry a leader epoch >= 0 and the leader is in the ISR."""
    name = unique("epoch")
    create_topic(wire, name, 3)
    resp = wire.send(MetadataRequest(topics=[T(name=name)]), 12)
    for p in resp.topics[0].partitions:
        assert p.leader_epoch >= 0 and p.leader_id in p.isr_nodes and p.leader_id in p.replica_nodes


@pytest.mark.kafka("internal topics")
def test_all_topics_listing(wire):
    """A null topic list returns every topic, including newly created ones."""
    name = unique("all")
    create_topic(wire, name, 1)
    resp = wire.send(MetadataRequest(topics=None), 12)
    assert name in {t.name for t in resp.topics}
