"""Consumer groups through real clients."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.helpers import wait_for


def make_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=15)


def produce(bootstrap, topic, n, partitions):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2})
    for i in range(n):
        p.produce(topic, value=str(i).encode(), partition=i % partitions)
    assert p.flush(15) == 0


def consumer(bootstrap, group, **extra):
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            **extra,
        }
    )


def test_confluent_group_splits_partitions(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 6)
    group = f"g-{topic_name}"
    consumers = [consumer(broker.bootstrap, group) for _ in range(3)]
    try:
        for c in consumers:
            c.subscribe([topic_name])

        def balanced():
            for c in consumers:
                c.poll(0.1)
            sets = [{tp.partition for tp in c.assignment()} for c in consumers]
            return sets if all(sets) and sum(len(s) for s in sets) == 6 else None

        sets = wait_for(balanced, timeout=30, message="3 members sharing 6 partitions")
        assert set().union(*sets) == set(range(6))
        assert sum(len(s) for s in sets) == 6  # disjoint
    finally:
        for c in consumers:
            c.close()


def test_commit_and_resume(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 2)
    produce(broker.bootstrap, topic_name, 100, 2)
    group = f"g-{topic_name}"
    c = consumer(broker.bootstrap, group, **{"enable.auto.commit": False})
    c.subscribe([topic_name])
    seen = []
    try:
        deadline = time.monotonic() + 30
        while len(seen) < 60 and time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is not None and not msg.error():
                seen.append(int(msg.value()))
        c.commit(asynchronous=False)
    finally:
        c.close()
    c2 = consumer(broker.bootstrap, group)
    c2.subscribe([topic_name])
    rest = []
    try:
        deadline = time.monotonic() + 30
        while len(seen) + len(rest) < 100 and time.monotonic() < deadline:
            msg = c2.poll(0.2)
            if msg is not None and not msg.error():
                rest.append(int(msg.value()))
    finally:
        c2.close()
    assert sorted(seen + rest) == list(range(100))  # nothing lost, nothing re-delivered


def test_kafka_python_group_and_commit(broker, topic_name):
    from kafka import KafkaConsumer

    make_topic(broker.bootstrap, topic_name, 3)
    produce(broker.bootstrap, topic_name, 30, 3)
    c = KafkaConsumer(
        topic_name,
        bootstrap_servers=broker.bootstrap,
        group_id=f"kp-{topic_name}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=15000,
    )
    got = []
    for msg in c:
        got.append(msg.value)
        if len(got) == 30:
            break
    c.commit()
    committed = {p: c.committed(TopicPartitionKP(topic_name, p)) for p in range(3)}
    c.close()
    assert len(got) == 30
    assert sum(committed.values()) == 30


def TopicPartitionKP(topic, partition):  # noqa: N802
    from kafka import TopicPartition as KTP

    return KTP(topic, partition)


def test_aiokafka_group(broker, topic_name):
    import asyncio

    from aiokafka import AIOKafkaConsumer

    make_topic(broker.bootstrap, topic_name, 2)
    produce(broker.bootstrap, topic_name, 20, 2)

    async def main():
        c = AIOKafkaConsumer(
            topic_name,
            bootstrap_servers=broker.bootstrap,
            group_id=f"aio-{topic_name}",
            auto_offset_reset="earliest",
        )
        await c.start()
        got = []
        try:
            async with asyncio.timeout(30):
                async for msg in c:
                    got.append(msg.value)
                    if len(got) == 20:
                        break
            await c.commit()
        finally:
            await c.stop()
        return got

    assert sorted(int(v) for v in asyncio.run(main())) == list(range(20))


def test_committed_offsets_survive_restart(fresh_broker, topic_name):
    make_topic(fresh_broker.bootstrap, topic_name, 1)
    group = f"g-{topic_name}"
    c = consumer(fresh_broker.bootstrap, group, **{"enable.auto.commit": False})
    c.assign([TopicPartition(topic_name, 0)])
    c.commit(offsets=[TopicPartition(topic_name, 0, 42)], asynchronous=False)
    c.close()
    fresh_broker.restart()
    c = consumer(fresh_broker.bootstrap, group)
    try:
        got = c.committed([TopicPartition(topic_name, 0)], timeout=10)
        assert got[0].offset == 42
    finally:
        c.close()


def assignments(consumers):
    for c in consumers:
        c.poll(0.1)
    return [{tp.partition for tp in c.assignment()} for c in consumers]


def test_graceful_leave_rebalances_at_once(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 6)
    group = f"g-{topic_name}"
    a = consumer(broker.bootstrap, group, **{"session.timeout.ms": 30000})
    b = consumer(broker.bootstrap, group, **{"session.timeout.ms": 30000})
    try:
        a.subscribe([topic_name])
        b.subscribe([topic_name])
        wait_for(
            lambda: all(len(s) == 3 for s in assignments([a, b])), timeout=30, message="split 3/3"
        )
        b.close()  # LeaveGroup: a gets everything long before the 30 s session timeout
        started = time.monotonic()
        wait_for(lambda: assignments([a])[0] == set(range(6)), timeout=20, message="a owns all")
        assert time.monotonic() - started < 20
    finally:
        a.close()


MEMBER_SCRIPT = """
import sys
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "session.timeout.ms": 6000,
              "heartbeat.interval.ms": 500})
c.subscribe([sys.argv[3]])
while True:
    c.poll(0.2)
    if c.assignment():
        print("assigned", flush=True)
"""


def test_killed_member_loses_partitions_after_session_timeout(broker, topic_name):
    import subprocess
    import sys

    make_topic(broker.bootstrap, topic_name, 4)
    group = f"g-{topic_name}"
    victim = subprocess.Popen(
        [sys.executable, "-c", MEMBER_SCRIPT, broker.bootstrap, group, topic_name],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    survivor = consumer(broker.bootstrap, group, **{"session.timeout.ms": 6000})
    try:
        assert victim.stdout.readline().strip() == "assigned"
        survivor.subscribe([topic_name])
        wait_for(
            lambda: 0 < len(assignments([survivor])[0]) < 4,
            timeout=30,
            message="both members assigned",
        )
        victim.kill()  # SIGKILL: no LeaveGroup, heartbeats just stop
        wait_for(
            lambda: assignments([survivor])[0] == set(range(4)),
            timeout=40,
            message="partitions move after the session timeout",
        )
    finally:
        victim.kill()
        victim.wait()
        survivor.close()


def test_static_member_rejoins_without_rebalance(broker, topic_name):
    make_topic(broker.bootstrap, topic_name, 4)
    group = f"g-{topic_name}"
    conf = {"session.timeout.ms": 20000}
    revoked: list = []
    a = consumer(broker.bootstrap, group, **{**conf, "group.instance.id": "static-a"})
    b = consumer(broker.bootstrap, group, **{**conf, "group.instance.id": "static-b"})
    try:
        a.subscribe([topic_name], on_revoke=lambda c, parts: revoked.append(parts))
        b.subscribe([topic_name])

        def settled():
            sets = assignments([a, b])
            return sets if all(sets) and sum(map(len, sets)) == 4 else None

        before = wait_for(settled, timeout=30, message="static members assigned")
        revoked.clear()
        b.close()  # a static member's close does not leave the group
        b = consumer(broker.bootstrap, group, **{**conf, "group.instance.id": "static-b"})
        b.subscribe([topic_name])
        wait_for(
            lambda: assignments([b])[0] == before[1], timeout=30, message="same partitions back"
        )
        assert assignments([a])[0] == before[0]
        assert revoked == []  # a never gave up its partitions: no rebalance happened
    finally:
        a.close()
        b.close()


def test_kcat_balanced_consumer(broker, topic_name):
    import subprocess

    from tests.integration.helpers import kcat_path

    kcat = kcat_path()
    if kcat is None:
        import pytest

        pytest.skip("kcat is not installed")
    make_topic(broker.bootstrap, topic_name, 3)
    produce(broker.bootstrap, topic_name, 30, 3)
    out = subprocess.run(
        [
            kcat,
            "-b",
            broker.bootstrap,
            "-G",
            f"kcat-{topic_name}",
            "-o",
            "beginning",
            "-c",
            "30",
            "-e",
            "-f",
            "%s\n",
            topic_name,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sorted(int(x) for x in out.stdout.split()) == list(range(30)), out.stderr[-500:]


def test_offset_delete(broker, topic_name):
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import AdminClient

    from conformance.wire import WireClient
    from kpy.protocol.messages.offset_delete import OffsetDeleteRequest as R

    make_topic(broker.bootstrap, topic_name, 2)
    group = f"g-{topic_name}"
    c = consumer(broker.bootstrap, group, **{"enable.auto.commit": False})
    c.commit(
        offsets=[TopicPartition(topic_name, 0, 5), TopicPartition(topic_name, 1, 6)],
        asynchronous=False,
    )
    c.close()
    with WireClient(broker.bootstrap) as w:
        resp = w.send(
            R(
                group_id=group,
                topics=[
                    R.OffsetDeleteRequestTopic(
                        name=topic_name,
                        partitions=[R.OffsetDeleteRequestPartition(partition_index=0)],
                    )
                ],
            ),
            0,
        )
    assert resp.error_code == 0 and resp.topics[0].partitions[0].error_code == 0
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    left = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(
        15
    )
    assert {tp.partition: tp.offset for tp in left.topic_partitions if tp.offset >= 0} == {1: 6}


def test_kafka_python_members_split_partitions(broker, topic_name):
    import threading

    from kafka import KafkaConsumer

    make_topic(broker.bootstrap, topic_name, 6)
    group = f"kp-{topic_name}"
    stop = threading.Event()
    members = [
        KafkaConsumer(
            bootstrap_servers=broker.bootstrap,
            group_id=group,
            session_timeout_ms=10000,
            heartbeat_interval_ms=500,
            enable_auto_commit=False,
            metadata_max_age_ms=500,
        )
        for _ in range(2)
    ]

    def run(m):
        # Each member polls on its own, as in an application: a JoinGroup blocks until
        # every member has rejoined, so one thread polling both would wait on itself.
        # The topic's metadata is loaded before subscribing: kafka-python 3.0.12 drops the
        # assignment of a leader that rejoins because metadata changed while its poll timed
        # out between JoinGroup and SyncGroup (the broker delivers it; the client ignores it).
        assert m.partitions_for_topic(topic_name) == set(range(6))
        m.subscribe([topic_name])
        while not stop.is_set():
            m.poll(timeout_ms=500)

    threads = [threading.Thread(target=run, args=(m,)) for m in members]
    for t in threads:
        t.start()
    try:

        def split():
            sets = [{tp.partition for tp in m.assignment()} for m in members]
            return sets if all(sets) and sum(map(len, sets)) == 6 else None

        sets = wait_for(split, timeout=60, message="kafka-python members sharing 6 partitions")
        assert set().union(*sets) == set(range(6))
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        for m in members:
            m.close()


def test_aiokafka_members_split_partitions(broker, topic_name):
    import asyncio

    from aiokafka import AIOKafkaConsumer

    make_topic(broker.bootstrap, topic_name, 6)
    group = f"aio-{topic_name}"

    async def main():
        members = [
            AIOKafkaConsumer(
                topic_name,
                bootstrap_servers=broker.bootstrap,
                group_id=group,
                session_timeout_ms=10000,
                heartbeat_interval_ms=500,
            )
            for _ in range(2)
        ]
        for m in members:
            await m.start()
        try:
            async with asyncio.timeout(40):
                while True:
                    await asyncio.gather(*(m.getmany(timeout_ms=100) for m in members))
                    sets = [{tp.partition for tp in m.assignment()} for m in members]
                    if all(sets) and sum(map(len, sets)) == 6:
                        return sets
        finally:
            for m in members:
                await m.stop()

    sets = asyncio.run(main())
    assert set().union(*sets) == set(range(6))


def test_delete_groups_right_after_the_session_timeout(broker):
    # librdkafka's test 0081: a member stops heartbeating and DeleteGroups follows as soon as
    # its session timeout has passed; the group must be empty by then, not a timer tick later.
    from conformance.wire import WireClient
    from kpy.protocol.messages.delete_groups import DeleteGroupsRequest
    from kpy.protocol.messages.join_group import JoinGroupRequest
    from kpy.protocol.messages.sync_group import SyncGroupRequest

    group = f"g-session-{time.monotonic_ns()}"
    session_s = 6.0  # group.min.session.timeout.ms
    with WireClient(broker.bootstrap) as w:
        joined = w.send(
            JoinGroupRequest(
                group_id=group,
                session_timeout_ms=int(session_s * 1000),
                rebalance_timeout_ms=10_000,
                member_id="",
                protocol_type="consumer",
                protocols=[JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=b"")],
            ),
            3,
        )
        assert joined.error_code == 0
        synced = w.send(
            SyncGroupRequest(
                group_id=group,
                generation_id=joined.generation_id,
                member_id=joined.member_id,
                assignments=[
                    SyncGroupRequest.SyncGroupRequestAssignment(
                        member_id=joined.member_id, assignment=b""
                    )
                ],
            ),
            3,
        )
        # The broker saw the member's last sign of life before this response arrived.
        last_seen = time.monotonic()
        assert synced.error_code == 0

        def delete_group():
            resp = w.send(DeleteGroupsRequest(groups_names=[group]), 2)
            return resp.results[0].error_code

        # Waiting out the session timeout is the scenario itself, not a synchronisation.
        time.sleep(session_s / 2)
        assert delete_group() == 68  # NON_EMPTY_GROUP: the session is still running
        time.sleep(max(0.0, last_seen + session_s + 0.005 - time.monotonic()))
        assert delete_group() == 0
