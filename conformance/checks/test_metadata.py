"""Metadata: brokers, cluster id, topics, auto-creation, errors."""

from __future__ import annotations

import uuid

import pytest

from conformance.raw import create_topic, unique, wait_for
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
@pytest.mark.parametrize("version", [3, 12])
def test_auto_create(wire, version):
    """A missing topic asked for with auto-creation allowed (always before v4) is answered
    UNKNOWN_TOPIC_OR_PARTITION without partitions, as Kafka hands the creation to its controller,
    and is listed with a leader soon after."""
    name = unique(f"auto{version}")
    resp = wire.send(
        MetadataRequest(topics=[T(name=name)], allow_auto_topic_creation=True), version
    )
    assert [(t.name, t.error_code, t.partitions) for t in resp.topics] == [(name, 3, [])]
    ask = MetadataRequest(topics=[T(name=name)], allow_auto_topic_creation=False)

    def listed():
        t = wire.send(ask, 12).topics[0]
        return t.error_code == 0 and t.partitions and all(p.leader_id >= 0 for p in t.partitions)

    wait_for(listed, f"{name} to be created", timeout=10)


@pytest.mark.kafka("protocol guide: error codes")
def test_unknown_topic_without_auto_create(wire):
    """UNKNOWN_TOPIC_OR_PARTITION when auto-creation is not allowed, and nothing is created."""
    name = unique("none")
    resp = wire.send(MetadataRequest(topics=[T(name=name)], allow_auto_topic_creation=False), 12)
    assert resp.topics[0].error_code == 3
    # An auto-creating request is answered the same way, so only the listing tells them apart.
    assert name not in {t.name for t in wire.send(MetadataRequest(topics=None), 12).topics}


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


@pytest.mark.kafka("KIP-430 authorized operations (no authorizer)")
@pytest.mark.parametrize("version", [8, 10, 12])
def test_authorized_operations(wire, version):
    """Asked for (v8+), every topic entry but an unknown id carries the operations a topic
    allows (3576) and the cluster (v8-10) those of the cluster (8096); unasked, both are unset."""
    name = unique("ops")
    create_topic(wire, name, 1)
    topics = [T(name=name), T(name=unique("none")), T(name="no spaces allowed")]
    unset = -(2**31)
    asked = MetadataRequest(
        topics=topics,
        allow_auto_topic_creation=False,
        include_cluster_authorized_operations=version <= 10,
        include_topic_authorized_operations=True,
    )
    resp = wire.send(asked, version)
    assert {t.name: t.topic_authorized_operations for t in resp.topics} == {
        t.name: 3576 for t in topics
    }
    assert resp.cluster_authorized_operations == (8096 if version <= 10 else unset)
    plain = wire.send(MetadataRequest(topics=topics, allow_auto_topic_creation=False), version)
    assert {t.topic_authorized_operations for t in plain.topics} == {unset}
    assert plain.cluster_authorized_operations == unset
    if version >= 12:
        by_id = MetadataRequest(
            topics=[T(name=None, topic_id=uuid.uuid4())], include_topic_authorized_operations=True
        )
        assert wire.send(by_id, version).topics[0].topic_authorized_operations == unset


@pytest.mark.kafka("KIP-516: topic ids in Metadata requests from v12")
@pytest.mark.parametrize("version", [10, 11])
def test_topic_ids_before_v12_are_invalid(wire, version):
    """v10-11 carry a topic id field but a request using it (or a null name) is refused with
    INVALID_REQUEST for every topic, without brokers; the connection stays usable."""
    name = unique("idv")
    created = create_topic(wire, name, 1, version=7)  # v7+ answers the topic id
    for topics in (
        [T(name=None, topic_id=created.topic_id)],
        [T(name=name, topic_id=uuid.uuid4()), T(name=name)],
    ):
        resp = wire.send(MetadataRequest(topics=topics), version)
        assert [(t.name, t.error_code, t.topic_id) for t in resp.topics] == [
            (t.name or "", 42, t.topic_id) for t in topics
        ]
        assert resp.brokers == [] and resp.controller_id == -1
    assert wire.send(MetadataRequest(topics=[T(name=name)]), version).topics[0].error_code == 0


@pytest.mark.kafka("Metadata: topics asked twice, names beside ids")
def test_repeated_topics_answered_once(wire):
    """A topic asked twice (by name, or by id) is answered once; at v12 a request naming any
    topic id is answered by id alone, its names ignored and nothing created."""
    name, other = unique("twice"), unique("ignored")
    created = create_topic(wire, name, 1, version=7)
    for version in (4, 12):
        resp = wire.send(MetadataRequest(topics=[T(name=name), T(name=name)]), version)
        assert [t.name for t in resp.topics] == [name]
    by_id = T(name=None, topic_id=created.topic_id)
    resp = wire.send(MetadataRequest(topics=[by_id, by_id, T(name=other)]), 12)
    assert [(t.name, t.error_code) for t in resp.topics] == [(name, 0)]
    resp = wire.send(MetadataRequest(topics=[T(name=other)], allow_auto_topic_creation=False), 12)
    assert resp.topics[0].error_code == 3
