"""What the broker's log tells: a DEBUG line per request, an INFO line per connection it
closes (who, what, why), and no flood when a client is refused again and again."""

from __future__ import annotations

import struct

from conformance.wire import WireClient
from kpy.protocol import records
from kpy.protocol.messages.api_versions import ApiVersionsRequest
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.protocol.messages.produce import ProduceRequest
from kpy.protocol.records import Record
from kpy.testing import BrokerProcess
from tests.integration.helpers import wait_for


def _lines(broker: BrokerProcess, text: str) -> list[str]:
    return [line for line in broker.log_path.read_text().splitlines() if text in line]


def _produce(topic: str) -> ProduceRequest:
    batch = records.build_batch([Record(None, b"v", [])])
    partition = ProduceRequest.PartitionProduceData(index=0, records=batch)
    data = ProduceRequest.TopicProduceData(name=topic, partition_data=[partition])
    return ProduceRequest(acks=1, timeout_ms=5000, topic_data=[data])


def _oversized_produce_head(client_id: bytes) -> bytes:
    """The size prefix and header of a Produce v9 request too big for the broker."""
    return struct.pack(">ihhih", 200_000_000, 0, 9, 7, len(client_id)) + client_id + b"\x00"


def test_debug_shows_a_line_per_request(tmp_path):
    with BrokerProcess(tmp_path / "data", log_level="DEBUG") as broker:
        with WireClient(broker.bootstrap, client_id="debug-client") as c:
            request = ApiVersionsRequest(client_software_name="t", client_software_version="1")
            c.send(request, 3)
            c.send(MetadataRequest(topics=None, allow_auto_topic_creation=True), 12)
            c.send(_produce("logged"), 9)  # read by the produce codec
            c.send(_produce("logged"), 9)
            c.send(MetadataRequest(topics=[]), 12)
        lines = wait_for(
            lambda: len(_lines(broker, "client_id='debug-client'")) >= 5 and _lines(broker, ""),
            message="a DEBUG line per request",
        )
    requests = [line for line in lines if "DEBUG kpy.request" in line]
    assert len(requests) == 5, requests
    assert "ApiVersions v3 correlation_id=1: NONE" in requests[0]
    assert "Metadata v12 correlation_id=2" in requests[1]
    # The partitions of a Produce, and those answered with an error (no such topic here).
    partitions = "partitions=1 [logged-0] errors [logged-0=UNKNOWN_TOPIC_OR_PARTITION]"
    assert f"Produce v9 correlation_id=3 {partitions}: answered in " in requests[2]
    assert f"Produce v9 correlation_id=4 {partitions}: answered in " in requests[3]
    assert all(line.endswith(" ms") for line in requests)


def test_refused_requests_leave_an_info_line(tmp_path):
    with BrokerProcess(tmp_path / "data") as broker:
        with WireClient(broker.bootstrap, client_id="old-client") as c:
            c.send(_produce("refused"), 2, expect_response=False)  # Kafka 4 dropped Produce v2
            assert c.is_closed()
        with WireClient(broker.bootstrap, client_id="big-client") as c:
            c.send(MetadataRequest(topics=[]), 12)
            c.send_raw(_oversized_produce_head(b"big-client"))
            assert c.is_closed()
        old = wait_for(lambda: _lines(broker, "client id 'old-client'"), message="a line")
        big = wait_for(lambda: _lines(broker, "client id 'big-client'"), message="a line")
        assert not _lines(broker, "kpy.request")  # request lines are DEBUG only
    assert len(old) == 1 and " INFO kpy.connection: " in old[0]
    assert "from 127.0.0.1:" in old[0]
    assert "a Produce v2 request (correlation id 1)" in old[0]
    assert old[0].endswith("Produce v2 is outside 3-11")
    assert len(big) == 1 and " INFO kpy.connection: " in big[0]
    assert "a Produce v9 request (correlation id 7)" in big[0]  # from the header that arrived
    assert big[0].endswith("request size 200000000 exceeds socket.request.max.bytes=104857600")


def test_a_client_refused_again_and_again_leaves_a_few_lines(tmp_path):
    with BrokerProcess(tmp_path / "data") as broker:
        for _ in range(100):
            with WireClient(broker.bootstrap) as c:
                c.send_raw(_oversized_produce_head(b"retrying-client"))
                assert c.is_closed()  # the line, if any, is written before the close
        lines = _lines(broker, "socket.request.max.bytes")
        assert 1 <= len(lines) <= 3, lines
        # Another client's refusal is still told at once: only the repeats were held back.
        with WireClient(broker.bootstrap) as c:
            c.send_raw(_oversized_produce_head(b"other-client"))
            assert c.is_closed()
        assert _lines(broker, "client id 'other-client'")
