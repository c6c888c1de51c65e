"""Deleting a topic removes every group's committed offsets of it, as Kafka does: a topic
created again under the same name is consumed from its start, not from the old positions
(which would silently skip its first records), and the removal survives restarts."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from conformance.wire import WireClient
from kpy.protocol.messages.offset_fetch import OffsetFetchRequest
from tests.integration.helpers import wait_for
from tests.integration.test_groups import make_topic, produce


def delete_topic(bootstrap, name):
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the answer
    admin.delete_topics([name])[name].result(timeout=15)


def consumer(bootstrap, group, **extra):
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **extra,
        }
    )


def consume(bootstrap, group, topic, n, **extra):
    """The values of ``n`` records read by a member of ``group``, which then commits."""
    c = consumer(bootstrap, group, **extra)
    c.subscribe([topic])
    got = []
    try:

        def read_all():
            msg = c.poll(0.2)
            if msg is not None and not msg.error():
                got.append(int(msg.value()))
            return len(got) >= n

        wait_for(read_all, timeout=30, message=f"{n} records of {topic} (got {got})")
        c.commit(asynchronous=False)
    finally:
        c.close()
    return got


def commit(bootstrap, group, offsets):
    """Commit {(topic, partition): offset} for ``group`` without joining it."""
    c = consumer(bootstrap, group)
    try:
        c.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False
        )
    finally:
        c.close()


def group_offsets(bootstrap, group):
    """Every committed offset of ``group``, as an admin client lists them."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
    return {(tp.topic, tp.partition): tp.offset for tp in result[group].result(15).topic_partitions}


def fetch_offsets(bootstrap, group, topic, version):
    """Offsets of ``topic``'s partitions 0 and 1 from an explicit OffsetFetch."""
    with WireClient(bootstrap) as w:
        if version < 8:
            req = OffsetFetchRequest(
                group_id=group,
                topics=[
                    OffsetFetchRequest.OffsetFetchRequestTopic(name=topic, partition_indexes=[0, 1])
                ],
            )
            resp = w.send(req, version)
            assert resp.error_code == 0
            topics = resp.topics
        else:
            req = OffsetFetchRequest(
                groups=[
                    OffsetFetchRequest.OffsetFetchRequestGroup(
                        group_id=group,
                        topics=[
                            OffsetFetchRequest.OffsetFetchRequestTopics(
                                name=topic, partition_indexes=[0, 1]
                            )
                        ],
                    )
                ],
            )
            answer = w.send(req, version).groups[0]
            assert answer.error_code == 0
            topics = answer.topics
    return {
        p.partition_index: (p.committed_offset, p.metadata, p.error_code)
        for t in topics
        for p in t.partitions
    }


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_recreated_topic_is_consumed_from_its_start(broker, topic_name, protocol):
    """The old committed offsets (2 per partition) are not applied to the new topic."""
    group = f"g-{topic_name}"
    extra = {"group.protocol": protocol}
    make_topic(broker.bootstrap, topic_name, 2)
    produce(broker.bootstrap, topic_name, 4, 2)
    assert sorted(consume(broker.bootstrap, group, topic_name, 4, **extra)) == list(range(4))
    assert group_offsets(broker.bootstrap, group) == {(topic_name, 0): 2, (topic_name, 1): 2}

    delete_topic(broker.bootstrap, topic_name)
    make_topic(broker.bootstrap, topic_name, 2)
    produce(broker.bootstrap, topic_name, 20, 2)
    assert sorted(consume(broker.bootstrap, group, topic_name, 20, **extra)) == list(range(20))


def test_offset_fetch_after_deletion(broker, topic_name):
    """Groups with and without a member lose the deleted topic's offsets and keep the others;
    an explicit OffsetFetch of the deleted partitions answers no offset (-1)."""
    kept = f"{topic_name}-kept"
    make_topic(broker.bootstrap, topic_name, 2)
    make_topic(broker.bootstrap, kept, 1)
    produce(broker.bootstrap, kept, 3, 1)
    empty, active = f"empty-{topic_name}", f"active-{topic_name}"
    offsets = {(topic_name, 0): 5, (topic_name, 1): 6, (kept, 0): 1}
    commit(broker.bootstrap, empty, offsets)
    member = consumer(broker.bootstrap, active)
    try:
        member.subscribe([kept])
        wait_for(
            lambda: member.poll(0.2) is not None or member.assignment(),
            timeout=30,
            message="a member of the active group",
        )
        member.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False
        )
        for group in (empty, active):
            assert group_offsets(broker.bootstrap, group) == offsets

        delete_topic(broker.bootstrap, topic_name)

        for group in (empty, active):
            assert group_offsets(broker.bootstrap, group) == {(kept, 0): 1}
            for version in (7, 8):
                assert fetch_offsets(broker.bootstrap, group, topic_name, version) == {
                    0: (-1, "", 0),
                    1: (-1, "", 0),
                }
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        described = admin.describe_consumer_groups([empty, active])
        assert len(described[active].result(15).members) == 1
        assert described[empty].result(15).members == []
    finally:
        member.close()


@pytest.mark.parametrize("crash", [False, True], ids=["stop", "sigkill"])
def test_removal_survives_restart(fresh_broker, topic_name, crash):
    """The removal is stored (tombstones in __consumer_offsets): after a restart, even with the
    topic created again before it, the old offsets do not come back."""
    bootstrap = fresh_broker.bootstrap
    kept = f"{topic_name}-kept"
    group = f"g-{topic_name}"
    make_topic(bootstrap, topic_name, 2)
    make_topic(bootstrap, kept, 1)
    commit(bootstrap, group, {(topic_name, 0): 5, (topic_name, 1): 6, (kept, 0): 7})
    delete_topic(bootstrap, topic_name)
    make_topic(bootstrap, topic_name, 2)

    fresh_broker.restart(crash=crash)

    assert group_offsets(bootstrap, group) == {(kept, 0): 7}
    produce(bootstrap, topic_name, 20, 2)
    assert sorted(consume(bootstrap, group, topic_name, 20)) == list(range(20))


def test_offsets_of_a_topic_gone_at_start_are_removed(fresh_broker, topic_name):
    """A broker that stopped after a topic left the registry but before its offsets were
    removed (simulated by editing the registry while it is down) removes them at start-up,
    durably: the topic created again after that starts with no offsets, across a restart."""
    bootstrap = fresh_broker.bootstrap
    group = f"g-{topic_name}"
    make_topic(bootstrap, topic_name, 2)
    commit(bootstrap, group, {(topic_name, 0): 5, (topic_name, 1): 6})
    fresh_broker.stop()
    registry = fresh_broker.data_dir / "kpy-topics.json"
    data = json.loads(registry.read_text())
    data["topics"] = [t for t in data["topics"] if t["name"] != topic_name]
    registry.write_text(json.dumps(data))
    fresh_broker.start()

    assert group_offsets(bootstrap, group) == {}
    make_topic(bootstrap, topic_name, 2)
    fresh_broker.restart(crash=True)
    assert fetch_offsets(bootstrap, group, topic_name, 8) == {0: (-1, "", 0), 1: (-1, "", 0)}


def test_pending_transactional_offsets_of_a_deleted_topic_are_dropped(broker, topic_name):
    """Offsets sent to a transaction for a topic deleted before the commit do not reach the
    topic created again under its name."""
    group = f"g-{topic_name}"
    make_topic(broker.bootstrap, topic_name, 2)
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "transactional.id": f"tx-{topic_name}"}
    )
    producer.init_transactions(15)
    producer.begin_transaction()
    meta = consumer(broker.bootstrap, group)
    try:
        producer.send_offsets_to_transaction(
            [TopicPartition(topic_name, 0, 5), TopicPartition(topic_name, 1, 6)],
            meta.consumer_group_metadata(),
            15,
        )
    finally:
        meta.close()
    delete_topic(broker.bootstrap, topic_name)
    make_topic(broker.bootstrap, topic_name, 2)
    producer.commit_transaction(15)

    assert group_offsets(broker.bootstrap, group) == {}
    produce(broker.bootstrap, topic_name, 20, 2)
    assert sorted(consume(broker.bootstrap, group, topic_name, 20)) == list(range(20))
