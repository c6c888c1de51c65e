"""Transactions with confluent-kafka: visibility under both isolation levels, the LSO,
fencing, timeouts, a broker restart mid-transaction and consume-transform-produce."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from kpy.testing import BrokerProcess
from tests.integration.helpers import wait_for

ck = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(10)


def txn_producer(bootstrap: str, tid: str, **extra) -> Producer:
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, **extra})
    p.init_transactions(15)
    return p


def read_all(
    bootstrap: str, topic: str, isolation: str, expect: int, partitions: int = 1, timeout=15.0
) -> list[bytes]:
    """Values from the start of ``topic`` until ``expect`` arrive (or the deadline)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
        }
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < expect and time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
    finally:
        c.close()
    return got


def lso_of(bootstrap: str, topic: str) -> tuple[int, int]:
    """(read_committed end offset, read_uncommitted end offset) of partition 0."""
    ends = []
    for isolation in ("read_committed", "read_uncommitted"):
        c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "lso",
                "isolation.level": isolation,
            }
        )
        try:
            ends.append(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1])
        finally:
            c.close()
    return ends[0], ends[1]


def test_committed_visible_aborted_invisible(broker, topic_name):
    create_topic(broker.bootstrap, topic_name)
    p = txn_producer(broker.bootstrap, f"tid-{topic_name}")
    p.begin_transaction()
    for i in range(3):
        p.produce(topic_name, value=b"aborted-%d" % i)
    p.flush(10)  # abort_transaction purges what is still queued
    p.abort_transaction(15)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic_name, value=b"committed-%d" % i)
    p.commit_transaction(15)
    committed = read_all(broker.bootstrap, topic_name, "read_committed", 3)
    assert committed == [b"committed-%d" % i for i in range(3)]
    # Nothing else shows up later for read_committed: 6 data records + 2 markers.
    assert read_all(broker.bootstrap, topic_name, "read_committed", 4, timeout=2) == committed
    uncommitted = read_all(broker.bootstrap, topic_name, "read_uncommitted", 6)
    assert uncommitted == [b"aborted-%d" % i for i in range(3)] + committed
    assert lso_of(broker.bootstrap, topic_name) == (8, 8)


def test_interleaved_transactions_hold_the_lso(broker, topic_name):
    create_topic(broker.bootstrap, topic_name)
    a = txn_producer(broker.bootstrap, f"a-{topic_name}")
    b = txn_producer(broker.bootstrap, f"b-{topic_name}")
    a.begin_transaction()
    a.produce(topic_name, value=b"a1")
    a.flush(10)
    b.begin_transaction()
    b.produce(topic_name, value=b"b1")
    b.flush(10)
    assert lso_of(broker.bootstrap, topic_name) == (0, 2)
    b.commit_transaction(15)
    # b is committed, but a's open transaction (offset 0) still holds the LSO.
    assert lso_of(broker.bootstrap, topic_name) == (0, 3)
    assert read_all(broker.bootstrap, topic_name, "read_committed", 1, timeout=2) == []
    a.produce(topic_name, value=b"a2")
    a.commit_transaction(15)
    assert lso_of(broker.bootstrap, topic_name) == (5, 5)
    got = read_all(broker.bootstrap, topic_name, "read_committed", 3)
    assert got == [b"a1", b"b1", b"a2"]


def test_zombie_is_fenced(broker, topic_name):
    create_topic(broker.bootstrap, topic_name)
    tid = f"zombie-{topic_name}"
    old = txn_producer(broker.bootstrap, tid)
    old.begin_transaction()
    old.produce(topic_name, value=b"zombie")
    old.flush(10)
    new = txn_producer(broker.bootstrap, tid)
    # The zombie's open transaction was aborted when the new producer initialised.
    with pytest.raises(KafkaException) as info:
        old.produce(topic_name, value=b"zombie-2")
        old.commit_transaction(15)
    assert info.value.args[0].fatal() or "fenc" in str(info.value).lower()
    new.begin_transaction()
    new.produce(topic_name, value=b"fresh")
    new.commit_transaction(15)
    assert read_all(broker.bootstrap, topic_name, "read_committed", 1) == [b"fresh"]
    assert read_all(broker.bootstrap, topic_name, "read_committed", 2, timeout=2) == [b"fresh"]


def test_timed_out_transaction_is_aborted(tmp_path, topic_name):
    overrides = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": 200}
    with BrokerProcess(tmp_path / "data", overrides=overrides) as proc:
        create_topic(proc.bootstrap, topic_name)
        p = txn_producer(proc.bootstrap, f"slow-{topic_name}", **{"transaction.timeout.ms": 1000})
        p.begin_transaction()
        p.produce(topic_name, value=b"too-late")
        p.flush(10)
        assert lso_of(proc.bootstrap, topic_name)[0] == 0
        wait_for(lambda: lso_of(proc.bootstrap, topic_name)[0] == 2, message="abort marker")
        with pytest.raises(KafkaException):
            p.commit_transaction(15)
        assert read_all(proc.bootstrap, topic_name, "read_committed", 1, timeout=2) == []
        assert read_all(proc.bootstrap, topic_name, "read_uncommitted", 1) == [b"too-late"]


def test_transaction_timeout_bounds(broker):
    p = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "transactional.id": f"bounds-{uuid.uuid4().hex}",
            "transaction.timeout.ms": 900_001,
        }
    )
    with pytest.raises(KafkaException) as info:
        p.init_transactions(10)
    assert "INVALID_TRANSACTION_TIMEOUT" in str(info.value) or "timeout" in str(info.value)


def test_broker_restart_mid_transaction(fresh_broker, topic_name):
    create_topic(fresh_broker.bootstrap, topic_name)
    tid = f"restart-{topic_name}"
    p = txn_producer(fresh_broker.bootstrap, tid)
    p.begin_transaction()
    p.produce(topic_name, value=b"before")
    p.flush(10)
    fresh_broker.restart()
    # The open transaction survived: its producer can finish it.
    assert lso_of(fresh_broker.bootstrap, topic_name) == (0, 1)
    p.produce(topic_name, value=b"after")
    p.commit_transaction(30)
    assert read_all(fresh_broker.bootstrap, topic_name, "read_committed", 2) == [
        b"before",
        b"after",
    ]
    # Committed state is replayed too: a new producer for the id gets a higher epoch.
    fresh_broker.restart(crash=True)
    q = txn_producer(fresh_broker.bootstrap, tid)
    q.begin_transaction()
    q.produce(topic_name, value=b"next")
    q.commit_transaction(15)
    assert read_all(fresh_broker.bootstrap, topic_name, "read_committed", 3) == [
        b"before",
        b"after",
        b"next",
    ]


def _process(bootstrap: str, src: str, dst: str, group: str, tid: str, limit: int | None):
    """Copy src -> dst (values upper-cased) in transactions of up to 5 records, committing
    the consumed offsets with each; stop after ``limit`` transactions without committing
    the last one (a crash), or when the input is drained."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([src])
    producer = txn_producer(bootstrap, tid)
    done = 0
    idle = 0
    try:
        while idle < 10:
            msgs = [m for m in consumer.consume(5, 0.5) if m.error() is None]
            if not msgs:
                idle += 1
                continue
            idle = 0
            producer.begin_transaction()
            for m in msgs:
                producer.produce(dst, key=m.key(), value=m.value().upper())
            if limit is not None and done == limit:
                producer.flush(10)
                return  # crash: the transaction stays open, the producer is dropped
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 15
            )
            producer.commit_transaction(15)
            done += 1
    finally:
        consumer.close()


def test_consume_transform_produce_exactly_once(broker):
    suffix = uuid.uuid4().hex[:8]
    src, dst = f"ctp-in-{suffix}", f"ctp-out-{suffix}"
    create_topic(broker.bootstrap, src)
    create_topic(broker.bootstrap, dst)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    inputs = [b"record-%03d" % i for i in range(40)]
    for v in inputs:
        p.produce(src, key=v, value=v)
    p.flush(10)
    group, tid = f"ctp-{suffix}", f"ctp-tid-{suffix}"
    _process(broker.bootstrap, src, dst, group, tid, limit=3)
    _process(broker.bootstrap, src, dst, group, tid, limit=None)
    out = read_all(broker.bootstrap, dst, "read_committed", len(inputs))
    assert sorted(out) == sorted(v.upper() for v in inputs)
    assert len(read_all(broker.bootstrap, dst, "read_committed", 41, timeout=3)) == 40


def test_kafka_python_transactional_producer(broker, topic_name):
    kafka = pytest.importorskip("kafka")
    if not hasattr(kafka.KafkaProducer, "init_transactions"):
        pytest.skip("this kafka-python has no transactions")
    create_topic(broker.bootstrap, topic_name)
    p = kafka.KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=f"kp-{topic_name}")
    try:
        p.init_transactions()
        p.begin_transaction()
        p.send(topic_name, b"kp-aborted")
        p.flush()
        p.abort_transaction()
        p.begin_transaction()
        p.send(topic_name, b"kp-committed")
        p.commit_transaction()
    finally:
        p.close()
    assert read_all(broker.bootstrap, topic_name, "read_committed", 1) == [b"kp-committed"]
    assert read_all(broker.bootstrap, topic_name, "read_uncommitted", 2) == [
        b"kp-aborted",
        b"kp-committed",
    ]


_PROCESSOR = textwrap.dedent(
    """
    import sys
    from confluent_kafka import Consumer, Producer

    bootstrap, src, dst, group, tid = sys.argv[1:6]
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group, "isolation.level": "read_committed",
        "enable.auto.commit": False, "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
    })
    consumer.subscribe([src])
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid})
    producer.init_transactions(30)
    while True:
        msgs = [m for m in consumer.consume(3, 0.5) if m.error() is None]
        if not msgs:
            continue
        producer.begin_transaction()
        for m in msgs:
            producer.produce(dst, key=m.key(), value=m.value().upper())
        producer.flush(10)
        print("batch", flush=True)
        producer.send_offsets_to_transaction(
            consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 30
        )
        producer.commit_transaction(30)
    """
)


def test_killed_processor_restarts_exactly_once(broker, tmp_path):
    """SIGKILL the consume-transform-produce process mid-stream, start it again: every
    input appears exactly once in the output for read_committed consumers."""
    suffix = uuid.uuid4().hex[:8]
    src, dst = f"kill-in-{suffix}", f"kill-out-{suffix}"
    create_topic(broker.bootstrap, src, 2)
    create_topic(broker.bootstrap, dst, 2)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    inputs = [b"rec-%03d" % i for i in range(60)]
    for v in inputs:
        p.produce(src, key=v, value=v)
    p.flush(10)
    script = tmp_path / "processor.py"
    script.write_text(_PROCESSOR)
    args = [sys.executable, str(script), broker.bootstrap, src, dst, f"g-{suffix}", f"t-{suffix}"]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert first.stdout is not None
        for _ in range(4):  # a few batches in, one of them possibly half done
            assert first.stdout.readline().startswith(b"batch")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    second = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        out = read_all(
            broker.bootstrap, dst, "read_committed", len(inputs), partitions=2, timeout=60
        )
        assert sorted(out) == sorted(v.upper() for v in inputs)
        # No duplicates arrive later either.
        extra = read_all(broker.bootstrap, dst, "read_committed", 61, partitions=2, timeout=3)
        assert len(extra) == len(inputs)
    finally:
        second.kill()
        second.wait()


_QUIX_APP = textwrap.dedent(
    """
    import sys
    from quixstreams import Application

    bootstrap, src, dst, group, state_dir = sys.argv[1:6]
    app = Application(
        broker_address=bootstrap, consumer_group=group, auto_offset_reset="earliest",
        processing_guarantee="exactly-once", state_dir=state_dir, loglevel="WARNING",
    )
    sdf = app.dataframe(app.topic(src, value_deserializer="json"))

    def count(value, state):
        n = state.get("n", 0) + 1
        state.set("n", n)
        return {"v": value["v"], "n": n}

    sdf = sdf.apply(count, stateful=True)
    sdf.to_topic(app.topic(dst, value_serializer="json"))
    app.run(timeout=8)
    """
)


@pytest.mark.skipif(
    not os.environ.get("KPY_QUIXSTREAMS_PYTHON"),
    reason="set KPY_QUIXSTREAMS_PYTHON to a Python with quixstreams installed (it pins an "
    "older confluent-kafka than the project venv, so it lives in a venv of its own)",
)
def test_quixstreams_exactly_once(broker, tmp_path):
    """A stateful quixstreams application with processing_guarantee="exactly-once", run
    twice over growing input: each input once in the output, per-key counts unbroken."""
    import json

    suffix = uuid.uuid4().hex[:8]
    src, dst = f"quix-in-{suffix}", f"quix-out-{suffix}"
    create_topic(broker.bootstrap, src, 2)
    create_topic(broker.bootstrap, dst, 2)
    script = tmp_path / "app.py"
    script.write_text(_QUIX_APP)
    args = [
        os.environ["KPY_QUIXSTREAMS_PYTHON"],
        str(script),
        broker.bootstrap,
        src,
        dst,
        f"quix-{suffix}",
        str(tmp_path / "state"),
    ]
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for run in range(2):
        for i in range(run * 30, run * 30 + 30):
            p.produce(src, key=f"k{i % 3}", value=json.dumps({"v": i}))
        p.flush(10)
        subprocess.run(args, check=True, timeout=120, capture_output=True)
    out = [json.loads(v) for v in read_all(broker.bootstrap, dst, "read_committed", 61, 2, 5)]
    assert sorted(o["v"] for o in out) == list(range(60))
    per_key: dict[int, list[int]] = {}
    for o in out:
        per_key.setdefault(o["v"] % 3, []).append(o["n"])
    assert {k: sorted(ns) for k, ns in per_key.items()} == {k: list(range(1, 21)) for k in range(3)}


def test_crash_mid_transaction(fresh_broker, topic_name):
    """SIGKILL with a transaction open: the LSO is still held after recovery and the
    transaction can be aborted by its producer; a group in the transaction is different
    (its offsets were only in memory), so that transaction is aborted at start-up."""
    create_topic(fresh_broker.bootstrap, topic_name)
    p = txn_producer(fresh_broker.bootstrap, f"crash-{topic_name}")
    p.begin_transaction()
    p.produce(topic_name, value=b"lost")
    p.flush(10)
    fresh_broker.restart(crash=True)
    assert lso_of(fresh_broker.bootstrap, topic_name) == (0, 1)
    p.abort_transaction(30)
    assert lso_of(fresh_broker.bootstrap, topic_name) == (2, 2)

    group = f"g-{topic_name}"
    c = Consumer({"bootstrap.servers": fresh_broker.bootstrap, "group.id": group})
    p.begin_transaction()
    p.produce(topic_name, value=b"with-offsets")
    p.send_offsets_to_transaction(
        [TopicPartition(topic_name, 0, 1)], c.consumer_group_metadata(), 15
    )
    p.flush(10)
    fresh_broker.restart(crash=True)
    wait_for(lambda: lso_of(fresh_broker.bootstrap, topic_name)[0] == 4, message="abort")
    with pytest.raises(KafkaException):
        p.commit_transaction(15)
    assert read_all(fresh_broker.bootstrap, topic_name, "read_committed", 1, timeout=2) == []
    committed = c.committed([TopicPartition(topic_name, 0)], timeout=10)
    assert committed[0].offset < 0
    c.close()


def test_aiokafka_transactional_producer(broker, topic_name):
    aiokafka = pytest.importorskip("aiokafka")
    import asyncio

    create_topic(broker.bootstrap, topic_name)

    async def run() -> None:
        p = aiokafka.AIOKafkaProducer(
            bootstrap_servers=broker.bootstrap, transactional_id=f"aio-{topic_name}"
        )
        await p.start()
        try:
            async with p.transaction():
                await p.send_and_wait(topic_name, b"aio-committed")
            await p.begin_transaction()
            await p.send_and_wait(topic_name, b"aio-aborted")
            await p.abort_transaction()
        finally:
            await p.stop()

    asyncio.run(run())
    assert read_all(broker.bootstrap, topic_name, "read_committed", 2, timeout=3) == [
        b"aio-committed"
    ]
    assert read_all(broker.bootstrap, topic_name, "read_uncommitted", 2) == [
        b"aio-committed",
        b"aio-aborted",
    ]


def test_idle_transactional_id_expires(tmp_path):
    from conformance.wire import WireClient
    from kpy.protocol.messages.describe_transactions import DescribeTransactionsRequest

    overrides = {
        "transactional.id.expiration.ms": 300,
        "transaction.remove.expired.transaction.cleanup.interval.ms": 100,
    }
    with BrokerProcess(tmp_path / "data", overrides=overrides) as proc:
        tid = f"expiring-{uuid.uuid4().hex[:8]}"
        p = txn_producer(proc.bootstrap, tid)
        del p

        def state() -> int:
            with WireClient(proc.bootstrap) as wire:
                req = DescribeTransactionsRequest(transactional_ids=[tid])
                return wire.send(req, 0).transaction_states[0].error_code

        wait_for(lambda: state() == 105, message="TRANSACTIONAL_ID_NOT_FOUND")
        proc.restart()
        assert state() == 105  # the tombstone is replayed
