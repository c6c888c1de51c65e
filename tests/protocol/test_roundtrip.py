"""Every client-facing API round-trips encode -> decode -> equal at every version."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpy.protocol import api_keys
from kpy.protocol.messages.request_header import RequestHeader
from kpy.protocol.messages.response_header import ResponseHeader
from tests.protocol.strategies import message

BROKER_APIS = sorted(k for k, info in api_keys.API_KEYS.items() if "broker" in info.listeners)


def test_every_broker_api_is_covered():
    # The schemas list well over fifty client-facing APIs; all must be in the table.
    assert len(BROKER_APIS) > 50
    assert {0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18, 19, 22} <= set(BROKER_APIS)


def check_round_trip(cls, version: int, value) -> None:
    encoded = value.encode(version)
    decoded, end = cls.read(memoryview(encoded), 0, version)
    assert end == len(encoded), "decode must consume exactly what encode wrote"
    assert decoded == value
    # Encoding is deterministic: the decoded value encodes to the same bytes.
    assert decoded.encode(version) == encoded


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["request", "response"])
@pytest.mark.parametrize("key", BROKER_APIS)
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_round_trip_every_version(key, kind, data):
    info = api_keys.API_KEYS[key]
    cls = info.request_class if kind == "request" else info.response_class
    lo, hi = cls.VALID_VERSIONS
    for version in range(lo, hi + 1):
        strategy = message(cls, version, info.is_flexible(version))
        check_round_trip(cls, version, data.draw(strategy, label=f"v{version}"))


@pytest.mark.parametrize("key", BROKER_APIS)
def test_defaults_round_trip_every_version(key):
    info = api_keys.API_KEYS[key]
    for cls in (info.request_class, info.response_class):
        lo, hi = cls.VALID_VERSIONS
        for version in range(lo, hi + 1):
            check_round_trip(cls, version, cls())


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_headers_round_trip(data):
    for cls, versions, flex_from in ((RequestHeader, (0, 2), 2), (ResponseHeader, (0, 1), 1)):
        version = data.draw(st.integers(*versions))
        value = data.draw(message(cls, version, version >= flex_from))
        assert cls.decode(cls(**{}).encode(version), version) is not None
        assert cls.decode(value.encode(version), version) == value


def test_request_header_client_id_is_never_compact():
    header = RequestHeader(
        request_api_key=3, request_api_version=12, correlation_id=9, client_id="ab"
    )
    encoded = header.encode(2)
    # int16 key, int16 version, int32 correlation id, int16 length + "ab", empty tag section
    assert encoded == b"\x00\x03\x00\x0c\x00\x00\x00\x09\x00\x02ab\x00"


def test_api_versions_response_header_is_always_v0():
    assert api_keys.response_header_version(18, 3) == 0
    assert api_keys.response_header_version(3, 12) == 1
    assert api_keys.response_header_version(3, 8) == 0
    assert api_keys.request_header_version(18, 3) == 2
    assert api_keys.request_header_version(18, 2) == 1


def test_records_field_decodes_without_copy():
    from kpy.protocol.messages.produce import ProduceRequest

    batch = bytes(range(256)) * 4096  # 1 MiB
    req = ProduceRequest(
        acks=-1,
        timeout_ms=1000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name="t",
                partition_data=[ProduceRequest.PartitionProduceData(index=0, records=batch)],
            )
        ],
    )
    wire = bytearray(req.encode(9))
    decoded = ProduceRequest.decode(wire, 9)
    records = decoded.topic_data[0].partition_data[0].records
    assert isinstance(records, memoryview)
    assert records.obj is wire  # a view into the request buffer, not a copy
    assert records == batch


def test_records_field_encodes_without_copy():
    from kpy.protocol.messages.fetch import FetchResponse

    batch = bytearray(1 << 20)
    resp = FetchResponse(
        responses=[
            FetchResponse.FetchableTopicResponse(
                topic="t",
                partitions=[FetchResponse.PartitionData(partition_index=0, records=batch)],
            )
        ]
    )
    chunks: list = []
    resp.encode_into(chunks, 11)
    assert any(c is batch for c in chunks)


def test_unknown_tagged_fields_are_preserved():
    from kpy.protocol.messages.metadata import MetadataRequest

    req = MetadataRequest(topics=None, unknown_tagged_fields=[(7, b"xyz"), (3, b"")])
    decoded = MetadataRequest.decode(req.encode(12), 12)
    assert decoded.unknown_tagged_fields == [(3, b""), (7, b"xyz")]


def test_non_ignorable_field_cannot_be_sent_at_an_old_version():
    from kpy.protocol.messages.fetch import FetchRequest
    from kpy.protocol.messages.join_group import JoinGroupRequest
    from kpy.protocol.primitives import UnsupportedVersion

    # group.instance.id only exists from v5 and is not ignorable: refuse rather than drop it.
    with pytest.raises(UnsupportedVersion):
        JoinGroupRequest(group_instance_id="static-1").encode(4)
    assert JoinGroupRequest(group_instance_id="static-1").encode(5)
    # An ignorable field (fetch session id, v7+) is silently left out of older versions.
    assert FetchRequest(session_id=5).encode(6) == FetchRequest().encode(6)
