"""kpy.metrics: what dispatch counts per request, from batch headers and error codes only."""

from __future__ import annotations

import uuid

from kpy.metrics import LATENCY_BUCKETS, BrokerMetrics
from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.create_topics import CreateTopicsResponse
from kpy.protocol.messages.fetch import FetchResponse
from kpy.protocol.messages.produce import ProduceRequest
from kpy.protocol.produce_codec import ProduceAnswer, ProduceView
from kpy.protocol.records import Record


def batch(n: int) -> bytes:
    return records.build_batch([Record(None, b"v%d" % i, [], i) for i in range(n)])


def view(topics) -> ProduceView:
    return ProduceView(11, 1, "c", None, 1, 1000, topics)


def ok(topic: str, *indexes: int) -> tuple:
    return (topic, [(i, 0, 0, -1, 0, None) for i in indexes])


def test_produce_counts_bytes_and_the_records_of_each_batch_header():
    m = BrokerMetrics()
    two = batch(3) + batch(4)  # two batches in one records field
    request = view([("a", [(0, memoryview(two)), (1, memoryview(batch(5)))]), ("b", [])])
    m.request_done(0, 11, request, ProduceAnswer([ok("a", 0, 1)]), 0.002)
    stats = m.statistics()
    assert stats["topics"] == {"a": (len(two) + len(batch(5)), 12, 0)}
    assert stats["totals"] == (len(two) + len(batch(5)), 12, 0)
    assert stats["requests"] == {(0, 11): 1}
    assert stats["errors"] == {(0, ErrorCode.NONE): 2}
    buckets, total = stats["latency"][0]
    assert sum(buckets) == 1 and total == 0.002
    assert buckets[LATENCY_BUCKETS.index(0.0025)] == 1


def test_a_failed_partition_is_not_counted_in_but_its_error_is():
    m = BrokerMetrics()
    request = view([("a", [(0, memoryview(batch(2))), (1, memoryview(batch(7)))])])
    failed = ("a", [(0, 0, 0, -1, 0, None), (1, ErrorCode.CORRUPT_MESSAGE, -1, -1, -1, None)])
    m.request_done(0, 11, request, ProduceAnswer([failed]), 0.001)
    assert m.statistics()["topics"]["a"][:2] == (len(batch(2)), 2)
    assert m.statistics()["errors"] == {(0, 0): 1, (0, ErrorCode.CORRUPT_MESSAGE): 1}


def test_acks_0_and_the_generated_request_form_count_too():
    m = BrokerMetrics()
    request = ProduceRequest(
        acks=0,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name="a",
                partition_data=[ProduceRequest.PartitionProduceData(index=0, records=batch(4))],
            )
        ],
    )
    m.request_done(0, 9, request, None, 0.001)  # acks=0: no response, all appended
    assert m.statistics()["topics"]["a"][1] == 4
    assert m.statistics()["errors"] == {(0, 0): 1}
    error = request.error_response(9, ErrorCode.NOT_LEADER_OR_FOLLOWER)
    m.request_done(0, 9, request, error, 0.001)
    assert m.statistics()["topics"]["a"][1] == 4
    assert m.statistics()["errors"][(0, ErrorCode.NOT_LEADER_OR_FOLLOWER)] == 1


def test_fetch_counts_bytes_out_by_topic_name_or_id():
    topic_id = uuid.uuid4()
    m = BrokerMetrics(lambda tid: "by-id" if tid == topic_id else None)
    response = FetchResponse(
        responses=[
            FetchResponse.FetchableTopicResponse(
                topic="named",
                partitions=[
                    FetchResponse.PartitionData(partition_index=0, records=b"x" * 10),
                    FetchResponse.PartitionData(
                        partition_index=1,
                        error_code=ErrorCode.OFFSET_OUT_OF_RANGE,
                        records=b"",
                    ),
                ],
            ),
            FetchResponse.FetchableTopicResponse(
                topic_id=topic_id,
                partitions=[FetchResponse.PartitionData(partition_index=0, records=b"y" * 7)],
            ),
        ]
    )
    m.request_done(1, 17, None, response, 0.01)
    stats = m.statistics()
    assert stats["topics"] == {"named": (0, 0, 10), "by-id": (0, 0, 7)}
    assert stats["totals"] == (0, 0, 17)
    # The top-level code and each partition's, as Kafka's errorCounts.
    assert stats["errors"] == {(1, 0): 3, (1, ErrorCode.OFFSET_OUT_OF_RANGE): 1}


def test_every_error_code_of_a_response_is_counted():
    m = BrokerMetrics()
    topic = CreateTopicsResponse.CreatableTopicResult
    response = CreateTopicsResponse(
        topics=[
            topic(name="a", error_code=ErrorCode.TOPIC_ALREADY_EXISTS),
            topic(name="b", error_code=ErrorCode.TOPIC_ALREADY_EXISTS),
            topic(name="c"),
        ]
    )
    m.request_done(19, 7, None, response, 0.5)
    assert m.statistics()["errors"] == {(19, ErrorCode.TOPIC_ALREADY_EXISTS): 2, (19, 0): 1}


def test_a_deleted_topic_is_forgotten_but_the_totals_keep_it():
    m = BrokerMetrics()
    request = view([("gone", [(0, memoryview(batch(2)))])])
    m.request_done(0, 11, request, ProduceAnswer([ok("gone", 0)]), 0.001)
    m.forget_topic("gone")
    assert m.statistics()["topics"] == {} and m.statistics()["totals"][1] == 2
