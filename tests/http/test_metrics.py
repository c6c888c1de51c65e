"""/metrics: Prometheus text, parsed by prometheus_client's parser, checked against known
traffic from real clients; one registry per broker."""

from __future__ import annotations

import uuid

import httpx
import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from kpy.http.metrics import registry_for, scrape
from kpy.testing import BrokerProcess, in_process_broker

HTTP_ON = {"http.listeners": "http://127.0.0.1:0"}
N, K, SIZE = 25, 7, 100


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of an exposition."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def test_metrics_count_known_traffic(tmp_path):
    topic, group = f"metrics-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    with BrokerProcess(tmp_path / "data", overrides=HTTP_ON) as broker:
        url = broker.http + "/metrics"
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(topic, 1)])[topic].result(15)
        with pytest.raises(KafkaException, match="TOPIC_ALREADY_EXISTS"):
            admin.create_topics([NewTopic(topic, 1)])[topic].result(15)

        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
        for i in range(N):
            producer.produce(topic, value=bytes([65 + i % 26]) * SIZE, partition=0)
        assert producer.flush(15) == 0

        consumer = Consumer(
            {
                "bootstrap.servers": broker.bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        consumer.assign([TopicPartition(topic, 0, 0)])
        got = 0
        while got < N:
            msg = consumer.poll(10)
            assert msg is not None and msg.error() is None
            got += 1
        consumer.commit(offsets=[TopicPartition(topic, 0, K)], asynchronous=False)

        answer = httpx.get(url, timeout=10)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        found = samples(answer.text)
        consumer.close()

    assert value(found, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == N
    assert value(found, "kafka_server_brokertopicmetrics_messagesin_total") == N
    assert value(found, "kafka_server_brokertopicmetrics_bytesin_total", topic=topic) >= N * SIZE
    assert value(found, "kafka_server_brokertopicmetrics_bytesin_total") >= N * SIZE
    assert value(found, "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) >= N * SIZE

    def requests(api: str) -> float:
        return sum(
            v
            for (name, labels), v in found.items()
            if name == "kafka_network_requestmetrics_requests_total" and ("request", api) in labels
        )

    assert requests("Produce") >= 1 and requests("Fetch") >= 1
    assert requests("CreateTopics") == 2 and requests("OffsetCommit") == 1
    assert requests("ApiVersions") >= 3  # one per connection at least
    errors = "kafka_network_requestmetrics_errors_total"
    assert value(found, errors, request="CreateTopics", error="TOPIC_ALREADY_EXISTS") == 1
    assert value(found, errors, request="CreateTopics", error="NONE") == 1
    assert value(found, errors, request="Produce", error="NONE") == requests("Produce")
    latency = "kafka_network_requestmetrics_totaltime_seconds"
    assert value(found, latency + "_count", request="CreateTopics") == 2
    assert value(found, latency + "_bucket", request="CreateTopics", le="+Inf") == 2
    assert value(found, latency + "_sum", request="CreateTopics") > 0

    lag = {"consumergroup": group, "topic": topic, "partition": "0"}
    assert value(found, "kafka_consumergroup_current_offset", **lag) == K
    assert value(found, "kafka_consumergroup_lag", **lag) == N - K
    log = {"topic": topic, "partition": "0"}
    assert value(found, "kafka_log_log_size", **log) >= N * SIZE
    assert value(found, "kafka_log_log_numlogsegments", **log) == 1
    assert value(found, "kafka_log_log_logendoffset", **log) == N
    # The admin client, the producer and the consumer (its group coordinator connection too).
    assert (
        value(found, "kafka_server_socket_server_metrics_connection_count", listener="PLAINTEXT")
        >= 3
    )
    assert value(found, "process_resident_memory_bytes") > 0
    assert value(found, "process_cpu_seconds_total") > 0


async def test_two_brokers_in_one_process_have_registries_of_their_own(tmp_path):
    async with (
        in_process_broker(tmp_path / "a", HTTP_ON) as a,
        in_process_broker(tmp_path / "b", HTTP_ON) as b,
    ):
        async with b.connect() as client:
            from kpy.protocol.messages.metadata import MetadataRequest

            await client.send(MetadataRequest(topics=None), 12)
        ra, rb = registry_for(a.broker), registry_for(b.broker)
        found_a, found_b = samples(scrape(ra).decode()), samples(scrape(rb).decode())
        requests = "kafka_network_requestmetrics_requests_total"
        assert (requests, frozenset({"request": "Metadata", "version": "12"}.items())) in found_b
        assert not any(name == requests for name, _ in found_a)
        async with httpx.AsyncClient() as http:
            over_http = samples((await http.get(b.info.http[0] + "/metrics")).text)
        assert value(over_http, requests, request="Metadata", version="12") == 1
