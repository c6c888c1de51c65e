"""kpy.request_log: the DEBUG line of a request names the partitions of a Produce or Fetch
and those answered with an error."""

from __future__ import annotations

import logging
import time
import uuid
from types import SimpleNamespace

from kpy.dispatch import RequestContext
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.fetch import FetchRequest, FetchResponse
from kpy.protocol.produce_codec import ProduceAnswer, ProduceView
from kpy.request_log import log_request

TOPIC_ID = uuid.uuid4()


class Metadata:
    def by_id(self, topic_id):
        return SimpleNamespace(name="by-id") if topic_id == TOPIC_ID else None


def ctx(key: int, version: int) -> RequestContext:
    broker = SimpleNamespace(metadata=Metadata())
    return RequestContext(broker, key, version, 5, "app", "10.0.0.1", "PLAINTEXT", "conn-9")  # type: ignore[arg-type]


def line(caplog, *args) -> str:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="kpy.request"):
        log_request(*args)
    [record] = caplog.records
    return record.getMessage()


def test_a_produce_line_names_its_partitions_and_errors(caplog):
    request = ProduceView(11, 5, "app", None, 1, 1000, [("t", [(i, b"") for i in range(10)])])
    outcomes = [(i, ErrorCode.CORRUPT_MESSAGE if i == 3 else 0, 0, -1, 0, None) for i in range(10)]
    text = line(
        caplog,
        ctx(0, 11),
        None,
        time.perf_counter(),
        True,
        request,
        ProduceAnswer([("t", outcomes)]),
    )
    assert text.startswith("conn-9 10.0.0.1 client_id='app' Produce v11 correlation_id=5 ")
    assert "partitions=10 [t-0 t-1 t-2 t-3 t-4 t-5 t-6 t-7 ...]" in text
    assert "errors [t-3=CORRUPT_MESSAGE]: answered in " in text and text.endswith(" ms")


def test_a_fetch_line_names_topics_by_id_too(caplog):
    request = FetchRequest(
        topics=[
            FetchRequest.FetchTopic(
                topic_id=TOPIC_ID, partitions=[FetchRequest.FetchPartition(partition=2)]
            )
        ]
    )
    response = FetchResponse(
        responses=[
            FetchResponse.FetchableTopicResponse(
                topic_id=TOPIC_ID,
                partitions=[
                    FetchResponse.PartitionData(
                        partition_index=2, error_code=ErrorCode.OFFSET_OUT_OF_RANGE
                    )
                ],
            )
        ]
    )
    text = line(caplog, ctx(1, 17), 0, time.perf_counter(), True, request, response)
    assert (
        "Fetch v17 correlation_id=5 partitions=1 [by-id-2] errors [by-id-2=OFFSET_OUT_OF_RANGE]: NONE in "
        in text
    )


def test_other_requests_name_no_partitions(caplog):
    text = line(
        caplog, ctx(12, 4), ErrorCode.UNKNOWN_MEMBER_ID, time.perf_counter(), True, object(), None
    )
    assert "Heartbeat v4 correlation_id=5: UNKNOWN_MEMBER_ID in " in text
