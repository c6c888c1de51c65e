"""The Java client of Apache Kafka 4.4 (tests/java/ programs) against kpy and against Kafka.

Each program prints one JSON line per observation; each test asserts the same answers from
both brokers, except where they differ on purpose: kpy offers transactions v1 only (no
``transaction.version`` feature), so the 4.4 producer runs v1 there, v2 against Kafka (a new
producer epoch per transaction, and a zombie's produce is fenced by the partition leader as
InvalidProducerEpoch rather than by the coordinator as ProducerFenced); and kpy has no
feature flags to describe.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.kafka_java import events

pytestmark = pytest.mark.timeout(180)


def test_idempotent_producer(bootstrap, jvm, topic_name):
    lines = events(jvm.program("IdempotentProducer", bootstrap, topic_name, "60"))
    assert lines["produced"]["offsets"] == list(range(60))
    consumed = lines["consumed"]
    assert consumed["offsets"] == list(range(60))
    assert consumed["keys"] == [f"k{i}" for i in range(60)]
    assert consumed["values"] == [f"v{i}" for i in range(60)]
    assert consumed["headers"] == [str(i) for i in range(60)]
    producer = lines["producer"]
    assert producer["epoch"] == 0 and producer["lastSequence"] == 59
    assert producer["producerId"] >= 0 and not producer["transactional"]


def test_transactional_producer_and_read_committed(bootstrap, broker_kind, jvm, topic_name):
    lines = jvm.program(
        "Transactions", bootstrap, topic_name, f"txn-{topic_name}", f"group-{topic_name}"
    )
    by_event = events(lines)
    v2 = broker_kind == "kafka"
    assert by_event["client"] == {"event": "client", "transactionsV2": v2}
    described = by_event["described"]
    assert described["state"] == "CompleteCommit" and described["partitions"] == 0
    # Transactions v2 bumps the epoch at the end of each of the three transactions.
    assert described["epoch"] == (3 if v2 else 0)
    assert by_event["group_offset"]["offset"] == 42
    consumed = {line["isolation"]: line for line in lines if line["event"] == "consumed"}
    # a, b | COMMIT marker | c | ABORT marker | d | COMMIT marker
    assert consumed["read_committed"]["values"] == ["a", "b", "d"]
    assert consumed["read_committed"]["offsets"] == [0, 1, 5]
    assert consumed["read_uncommitted"]["values"] == ["a", "b", "c", "d"]
    assert consumed["read_uncommitted"]["offsets"] == [0, 1, 3, 5]
    assert consumed["read_committed"]["end"] == consumed["read_uncommitted"]["end"] == 7
    fenced = by_event["fenced"]["error"]
    assert fenced == ("InvalidProducerEpochException" if v2 else "ProducerFencedException")


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_consumer_group(bootstrap, jvm, topic_name, protocol):
    group = f"group-{topic_name}"
    lines = events(jvm.program("GroupConsumer", bootstrap, topic_name, group, protocol))
    partitions = [f"{topic_name}-0", f"{topic_name}-1"]
    assert lines["first"]["assigned"] == partitions
    assert lines["first"]["values"] == sorted(f"v{i}" for i in range(10))
    shared = lines["shared"]
    assert shared["both"] == partitions and len(shared["first"]) == len(shared["second"]) == 1
    described = lines["described"]
    assert described["type"] == protocol.capitalize()
    assert described["state"] == "Stable" and described["members"] == 2
    assert lines["offsets"]["committed"] == {p: 5 for p in partitions}


def test_seek_by_offset_and_time(bootstrap, jvm, topic_name):
    t0 = (int(time.time()) - 3600) * 1000
    lines = jvm.program("Seeks", bootstrap, topic_name, str(t0))
    by_event = events(lines)
    assert by_event["seek_offset"]["first"] == "v6"
    assert by_event["seek_time"] == {
        "event": "seek_time",
        "offset": 4,
        "timestamp": 4000,
        "first": "v4",
    }
    assert by_event["seek_time_past_end"]["found"] is False
    ends = by_event["seek_ends"]
    assert (ends["end"], ends["beginning"]) == (10, 0)
    assert (ends["endOffsets"], ends["beginningOffsets"]) == (10, 0)
    listed = {line["spec"]: (line["offset"], line["timestamp"]) for line in lines if "spec" in line}
    assert listed == {
        "earliest": (0, -1),
        "latest": (10, -1),
        "max_timestamp": (9, 9000),
        "for_timestamp": (2, 2000),
    }


def test_admin_client(bootstrap, broker_kind, jvm, topic_name):
    group = f"group-{topic_name}"
    by_event = events(jvm.program("AdminOps", bootstrap, topic_name, group))
    cluster = by_event["cluster"]
    assert cluster["nodes"] == 1 and cluster["clusterIdLength"] == 22
    assert by_event["create_again"]["error"] == "TopicExistsException"
    assert by_event["listed"]["found"] is True
    assert by_event["described"] == {
        "event": "described",
        "partitions": 4,
        "leaders": [cluster["controller"]],
        "internal": False,
    }
    retention = {"source": "DYNAMIC_TOPIC_CONFIG", "value": "3600000"}
    assert by_event["topic_config"]["retention.ms"] == retention
    altered = by_event["topic_config_altered"]
    assert altered["retention.ms"] == {"source": "DEFAULT_CONFIG", "value": "604800000"}
    assert altered["segment.ms"] == {"source": "DYNAMIC_TOPIC_CONFIG", "value": "7200000"}
    segment_bytes = by_event["broker_config"]["log.segment.bytes"]
    assert segment_bytes == {"source": "DEFAULT_CONFIG", "value": "1073741824"}
    offsets = by_event["offsets"]
    assert (offsets["earliest"], offsets["latest"], offsets["max_timestamp"]) == (0, 10, 9)
    deleted = by_event["deleted_records"]
    assert (deleted["low_watermark"], deleted["earliest"]) == (4, 4)
    assert deleted["beyond_end"] == "OffsetOutOfRangeException"
    listed = by_event["group_listed"]
    assert listed["found"] is True and listed["state"] == "Empty"
    assert listed["offsets"] == {f"{topic_name}-0": 7}
    assert by_event["group_offset_deleted"]["offsets"] == {f"{topic_name}-1": 0}
    assert by_event["group_deleted"]["found"] is False
    features = by_event["features"]
    if broker_kind == "kafka":
        assert features["finalized"]["transaction.version"] == 2
        assert "metadata.version" in features["supported"]
    else:  # kpy has no feature flags (README: transactions v1, groups without group.version)
        assert features["finalized"] == {} and features["supported"] == []
    log_dirs = by_event["log_dirs"]
    assert (log_dirs["dirs"], log_dirs["error"], log_dirs["partitions"]) == (1, None, 4)
    assert log_dirs["size_positive"] is True
    assert by_event["deleted"]["found"] is False
