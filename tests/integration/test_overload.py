"""Overload and shutdown: many connections, clients that never read, SIGTERM under load."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conformance.wire import WireClient
from kpy.protocol import framing
from kpy.protocol.messages.metadata import MetadataRequest
from tests.integration.helpers import wait_for


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.mark.timeout(120)
def test_many_concurrent_connections(broker):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2200:
        pytest.skip(f"open-file limit {hard} is too low for 1,000 client sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2200), hard))
    clients = [WireClient(broker.bootstrap) for _ in range(1000)]
    try:
        for c in clients:
            c.send_raw(framing.encode_request(3, 12, 1, "many", MetadataRequest(topics=[])))
        for c in clients:
            assert c.recv_frame()
    finally:
        for c in clients:
            c.close()


@pytest.mark.timeout(120)
def test_client_that_never_reads_is_not_buffered_without_bound(broker):
    before = rss_kib(broker.pid)
    request = framing.encode_request(3, 12, 1, "greedy", MetadataRequest(topics=None))
    sock = socket.create_connection(("127.0.0.1", broker.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(0.5)
    sent = 0
    try:
        # Keep sending and never read: once the socket buffers are full the broker stops
        # reading this connection (one request in flight), so our sends stall.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                sock.sendall(request * 100)
                sent += 100
            except TimeoutError:
                break
        assert time.monotonic() < deadline, "the broker kept reading from a client that never reads"
        with WireClient(broker.bootstrap) as other:
            assert other.send(MetadataRequest(topics=[]), 12).brokers
        assert rss_kib(broker.pid) - before < 50 * 1024
    finally:
        sock.close()


@pytest.mark.timeout(120)
def test_sigterm_under_load_loses_nothing_acknowledged(fresh_broker, topic_name):
    broker = fresh_broker
    acked: list[int] = []
    stop = threading.Event()
    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "acks": "all",
            "linger.ms": 1,
            "message.timeout.ms": 5000,
        }
    )

    def run():
        i = 0
        while not stop.is_set():
            try:
                producer.produce(
                    topic_name,
                    value=str(i).encode(),
                    on_delivery=lambda err, msg: err is None and acked.append(int(msg.value())),
                )
                i += 1
            except BufferError:
                pass
            producer.poll(0)

    t = threading.Thread(target=run)
    t.start()
    wait_for(lambda: len(acked) >= 2000, timeout=30, message="2000 acknowledged records")
    started = time.monotonic()
    code = broker.stop(timeout=10)
    shutdown_s = time.monotonic() - started
    stop.set()
    t.join()
    producer.flush(6)
    assert code == 0 and shutdown_s < 5
    broker.start()
    c = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "g",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.assign([TopicPartition(topic_name, 0, 0)])
    stored = set()
    deadline = time.monotonic() + 30
    while not set(acked) <= stored and time.monotonic() < deadline:
        for m in c.consume(5000, 0.5):
            if not m.error():
                stored.add(int(m.value()))
    c.close()
    assert len(acked) >= 2000 and set(acked) <= stored


def test_max_connections_and_idle_timeout(tmp_path):
    from kpy.testing import BrokerProcess

    overrides = {"max.connections": 5, "connections.max.idle.ms": 1000}
    with BrokerProcess(tmp_path / "data", overrides=overrides) as broker:
        clients = [WireClient(broker.bootstrap) for _ in range(5)]
        try:
            for c in clients:
                assert c.send(MetadataRequest(topics=[]), 12).brokers
            extra = WireClient(broker.bootstrap)
            assert extra.is_closed(timeout=10)  # the sixth connection is refused
            extra.close()
            # Idle connections are closed after connections.max.idle.ms.
            assert all(c.is_closed(timeout=10) for c in clients)
        finally:
            for c in clients:
                c.close()
        assert "max.connections" in broker.tail_log(100)
        with WireClient(broker.bootstrap) as again:  # room again once they are gone
            assert again.send(MetadataRequest(topics=[]), 12).brokers


def test_fetch_with_huge_max_bytes(broker, topic_name):
    from conformance.raw import batch, create_topic, fetch, first_partition, produce

    with WireClient(broker.bootstrap) as wire:
        create_topic(wire, topic_name, 1)
        for _ in range(20):
            produce(wire, topic_name, batch(10, size=1000))
        part = first_partition(
            fetch(wire, topic_name, 0, max_bytes=2**31 - 1, partition_max_bytes=2**31 - 1)
        )
        assert part.error_code == 0 and len(part.records) > 200_000


@pytest.mark.timeout(240)
def test_widest_topic_one_request_creates(fresh_broker):
    from conformance.raw import batch, create_topic, fetch, first_partition, produce

    with WireClient(fresh_broker.bootstrap, timeout=200) as wire:
        # Kafka 4.4 refuses a request of more than 10,000 metadata records (the topic's own
        # record included): 9,999 partitions is the widest topic one CreateTopics can make.
        assert create_topic(wire, "too-wide", 10_000, wait=False).error_code == 44
        assert create_topic(wire, "wide", 9_999).error_code == 0
        md = wire.send(
            MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="wide")]), 12
        )
        assert len(md.topics[0].partitions) == 9_999
        for p in (0, 4_999, 9_998):
            assert produce(wire, "wide", batch(1), partition=p).error_code == 0
    fresh_broker.restart()
    with WireClient(fresh_broker.bootstrap, timeout=60) as wire:
        assert first_partition(fetch(wire, "wide", 0, partition=9_998)).high_watermark == 1
