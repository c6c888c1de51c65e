"""Frames: size prefix, request header v0/v1/v2, response header v0/v1, the ApiVersions quirk."""

from __future__ import annotations

import struct

import pytest

from kpy.protocol import api_keys, framing
from kpy.protocol.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse
from kpy.protocol.messages.fetch import FetchResponse
from kpy.protocol.messages.metadata import MetadataRequest, MetadataResponse
from kpy.protocol.messages.request_header import RequestHeader
from kpy.protocol.messages.response_header import ResponseHeader
from kpy.protocol.primitives import FileRegion, ProtocolError


def test_request_header_versions():
    h = RequestHeader(request_api_key=3, request_api_version=1, correlation_id=7, client_id="c")
    assert h.encode(0) == b"\x00\x03\x00\x01\x00\x00\x00\x07"
    assert h.encode(1) == b"\x00\x03\x00\x01\x00\x00\x00\x07\x00\x01c"
    # v2: ClientId keeps the int16 length (never compact); then an empty tag section.
    assert h.encode(2) == b"\x00\x03\x00\x01\x00\x00\x00\x07\x00\x01c\x00"
    assert RequestHeader.decode(h.encode(2), 2) == h
    nameless = RequestHeader(request_api_key=3, client_id=None)
    assert nameless.encode(1).endswith(b"\xff\xff")
    assert RequestHeader.decode(nameless.encode(2), 2).client_id is None


def test_response_header_versions():
    assert ResponseHeader(correlation_id=5).encode(0) == b"\x00\x00\x00\x05"
    assert ResponseHeader(correlation_id=5).encode(1) == b"\x00\x00\x00\x05\x00"


def test_header_version_table():
    assert api_keys.request_header_version(3, 8) == 1
    assert api_keys.request_header_version(3, 9) == 2
    assert api_keys.request_header_version(7, 0) == 0  # ControlledShutdown v0
    assert api_keys.response_header_version(3, 9) == 1
    assert api_keys.response_header_version(3, 8) == 0
    for version in range(5):
        # KIP-511: ApiVersions responses never carry header tagged fields.
        assert api_keys.response_header_version(18, version) == 0
    assert api_keys.request_header_version(18, 3) == 2


def test_api_table_facts():
    produce = api_keys.API_KEYS[0]
    assert (produce.name, produce.module, produce.kafka4_min) == ("Produce", "produce", 3)
    assert produce.request_class.__name__ == "ProduceRequest"
    assert produce.flexible_min == 9
    floors = {key: info.kafka4_min for key, info in api_keys.API_KEYS.items()}
    assert {k: floors[k] for k in (0, 1, 2, 3, 8, 9, 19, 20)} == {
        0: 3,
        1: 4,
        2: 1,
        3: 0,
        8: 2,
        9: 1,
        19: 2,
        20: 1,
    }
    assert floors[11] == 0  # JoinGroup v0-v1 came back in Kafka 4.0.1 (KAFKA-19444)
    assert api_keys.API_KEYS[18].is_flexible(3) and not api_keys.API_KEYS[18].is_flexible(2)


@pytest.mark.parametrize("version", [0, 1, 4, 9, 12])
def test_request_frame_round_trip(version):
    req = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="t")])
    frame = framing.encode_request(3, version, 42, "client-1", req)
    assert struct.unpack(">i", frame[:4])[0] == len(frame) - 4
    header, body = framing.decode_request(frame[4:])
    assert (header.request_api_key, header.request_api_version) == (3, version)
    assert (header.correlation_id, header.client_id) == (42, "client-1")
    assert body == req


@pytest.mark.parametrize("version", [0, 3, 4])
def test_api_versions_response_header_is_v0(version):
    resp = ApiVersionsResponse(
        api_keys=[ApiVersionsResponse.ApiVersion(api_key=0, min_version=3, max_version=11)]
    )
    chunks = framing.encode_response(9, 18, version, resp)
    frame = b"".join(chunks)
    assert struct.unpack(">i", frame[:4])[0] == len(frame) - 4
    # Correlation id then the body straight away: no header tag section, even for v3+.
    assert frame[4:8] == b"\x00\x00\x00\x09" and frame[8:] == resp.encode(version)
    assert framing.decode_response(18, version, frame[4:]) == (9, resp)


def test_flexible_response_header_has_tag_section():
    resp = MetadataResponse(throttle_time_ms=5)
    frame = b"".join(framing.encode_response(1, 3, 12, resp))
    assert frame[8] == 0 and frame[9:] == resp.encode(12)
    assert framing.decode_response(3, 12, frame[4:]) == (1, resp)


def test_response_frame_keeps_records_chunks():
    batch = bytearray(1 << 20)
    region = FileRegion(3, 100, 70000)

    class Records:
        def __len__(self) -> int:
            return len(batch) + len(region)

        def chunks(self):
            return [batch, region]

    resp = FetchResponse(
        responses=[
            FetchResponse.FetchableTopicResponse(
                topic="t", partitions=[FetchResponse.PartitionData(records=Records())]
            )
        ]
    )
    chunks = framing.encode_response(77, 1, 11, resp)
    assert any(c is batch for c in chunks) and region in chunks
    size = struct.unpack_from(">i", chunks[0], 0)[0]
    assert size == sum(len(c) for c in chunks) - 4


def test_api_versions_request_v3_round_trip():
    req = ApiVersionsRequest(client_software_name="kpy-test", client_software_version="1.0")
    frame = framing.encode_request(18, 3, 1, None, req)
    header, body = framing.decode_request(frame[4:])
    assert header.client_id is None and body == req


def test_bad_frames():
    with pytest.raises(ProtocolError, match="shorter"):
        framing.decode_request(b"\x00\x03\x00")
    with pytest.raises(ProtocolError, match="unknown API key"):
        framing.decode_request(b"\x03\xe7\x00\x00\x00\x00\x00\x01\xff\xff")
    frame = framing.encode_request(3, 12, 1, "c", MetadataRequest(topics=None))
    for cut in range(4, len(frame) - 1):
        with pytest.raises(ProtocolError):
            framing.decode_request(frame[4:cut])
    with pytest.raises(ProtocolError, match="no version"):
        framing.decode_request(b"\x00\x03\x00\x63\x00\x00\x00\x01\xff\xff\x00")
