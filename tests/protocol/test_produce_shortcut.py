"""The connection's produce shortcut reads and answers exactly as the general path does.

``parse_simple`` must agree with the generated decoder on every frame it accepts and decline
every frame it cannot take (transactional, tagged fields, anything malformed);
``encode_success`` must write the same bytes as the generated encoder at every version.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpy.dispatch import REGISTRY, load_handlers
from kpy.handlers.api_00_produce import (
    PartitionResponse,
    encode_success,
    parse_simple,
    response_of,
)
from kpy.protocol import api_keys, framing
from kpy.protocol.messages.produce import ProduceRequest, ProduceResponse
from kpy.protocol.messages.request_header import RequestHeader

load_handlers()
LOW, HIGH = REGISTRY[0].min_version, REGISTRY[0].max_version
VERSIONS = st.integers(LOW, HIGH)
INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
NAMES = st.text(min_size=1, max_size=12)

partitions = st.lists(st.tuples(INT32, st.binary(max_size=40)), max_size=3)
topics = st.lists(st.tuples(NAMES, partitions), max_size=3)


def frame_of(version, corr, client_id, request, header_tags=()):
    header = RequestHeader(
        request_api_key=0,
        request_api_version=version,
        correlation_id=corr,
        client_id=client_id,
    )
    header.unknown_tagged_fields = list(header_tags)
    header_version = api_keys.request_header_version(0, version)
    return memoryview(bytearray(header.encode(header_version) + request.encode(version)))


def request_of(acks, transactional_id, data):
    return ProduceRequest(
        transactional_id=transactional_id,
        acks=acks,
        timeout_ms=30_000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name=name,
                partition_data=[
                    ProduceRequest.PartitionProduceData(index=i, records=records)
                    for i, records in parts
                ],
            )
            for name, parts in data
        ],
    )


@pytest.mark.timeout(60)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    version=VERSIONS,
    corr=INT32,
    client_id=st.none() | st.text(max_size=10),
    acks=st.sampled_from([-1, 0, 1]),
    transactional_id=st.none() | st.text(max_size=5),
    data=topics,
)
def test_parse_agrees_with_the_generated_decoder(
    version, corr, client_id, acks, transactional_id, data
):
    request = request_of(acks, transactional_id, data)
    frame = frame_of(version, corr, client_id, request)
    parsed = parse_simple(frame)
    if transactional_id is not None:
        assert parsed is None
        return
    assert parsed is not None
    got_version, got_corr, got_acks, got_topics = parsed
    header, offset = framing.decode_request_header(frame)
    decoded = ProduceRequest.decode(frame[offset:], version)
    assert (got_version, got_corr, got_acks) == (version, header.correlation_id, decoded.acks)
    assert [(n, [(i, bytes(r)) for i, r in ps]) for n, ps in got_topics] == [
        (t.name, [(p.index, bytes(p.records)) for p in t.partition_data])
        for t in decoded.topic_data
    ]


@pytest.mark.timeout(60)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(version=VERSIONS, data=topics)
def test_every_cut_of_a_frame_is_declined(version, data):
    frame = frame_of(version, 7, "client", request_of(-1, None, data))
    assert parse_simple(frame) is not None
    for end in range(len(frame)):
        assert parse_simple(frame[:end]) is None


@pytest.mark.timeout(60)
def test_declines_what_only_the_general_path_handles():
    simple = request_of(1, None, [("t", [(0, b"x")])])
    assert parse_simple(frame_of(9, 1, "c", simple)) is not None
    # Tagged fields in the request header (flexible versions).
    assert parse_simple(frame_of(9, 1, "c", simple, header_tags=[(5, b"\x01")])) is None
    # Tagged fields in the body.
    tagged = request_of(1, None, [("t", [(0, b"x")])])
    tagged.unknown_tagged_fields = [(9, b"")]
    assert parse_simple(frame_of(9, 1, "c", tagged)) is None
    # Null records, a version outside the registered range, another API.
    null_records = request_of(1, None, [("t", [(0, None)])])
    assert parse_simple(frame_of(8, 1, "c", null_records)) is None
    assert parse_simple(frame_of(9, 1, "c", null_records)) is None
    for version, outside in ((HIGH, HIGH + 1), (LOW, LOW - 1)):
        frame = bytearray(frame_of(version, 1, "c", simple))
        frame[2:4] = outside.to_bytes(2, "big")
        assert parse_simple(memoryview(frame)) is None
    other = bytearray(frame_of(9, 1, "c", simple))
    other[1] = 1  # api key 1 (Fetch)
    assert parse_simple(memoryview(other)) is None
    # A client id length below -1 is the general path's to refuse.
    frame = bytearray(frame_of(8, 1, None, simple))
    frame[8:10] = b"\xff\xfe"
    assert parse_simple(memoryview(frame)) is None
    # A null topic array (count -1) is the general path's to refuse.
    frame = bytearray(frame_of(8, 1, None, request_of(1, None, [])))
    frame[-4:] = b"\xff\xff\xff\xff"
    assert parse_simple(memoryview(frame)) is None


@pytest.mark.timeout(60)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    version=VERSIONS,
    corr=INT32,
    results=st.lists(
        st.tuples(NAMES, st.lists(st.tuples(INT32, INT64, INT64, INT64), max_size=3)),
        max_size=3,
    ),
)
def test_success_response_is_what_the_generated_encoder_writes(version, corr, results):
    outcomes = [
        (name, [(i, 0, base, ts, start, None) for i, base, ts, start in parts])
        for name, parts in results
    ]
    response = ProduceResponse(
        responses=[
            ProduceResponse.TopicProduceResponse(
                name=name,
                partition_responses=[
                    PartitionResponse(
                        index=i, base_offset=base, log_append_time_ms=ts, log_start_offset=start
                    )
                    for i, base, ts, start in parts
                ],
            )
            for name, parts in results
        ]
    )
    expected = b"".join(bytes(c) for c in framing.encode_response(corr, 0, version, response))
    assert bytes(encode_success(corr, version, outcomes)) == expected
    # The general path's response (response_of) is the same message.
    assert response_of(outcomes) == response
