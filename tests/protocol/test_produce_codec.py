"""The Produce codec reads and answers exactly as the generated messages do.

``parse`` must give, for every version it takes, the values the generated ProduceRequest
encoder was given (records as views of the frame); return None for the shapes it leaves to
the generated decoder; and raise ProtocolError, never anything else, for bytes that do not
decode, exactly when the generated decoder refuses them too. ``ProduceAnswer`` must write
the bytes the generated ProduceResponse encoder writes, at every version.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpy.protocol import api_keys, framing, produce_codec
from kpy.protocol.messages.produce import ProduceRequest, ProduceResponse
from kpy.protocol.messages.request_header import RequestHeader
from kpy.protocol.primitives import ProtocolError
from kpy.protocol.produce_codec import ProduceAnswer, ProduceView, parse, response_of

LOW, HIGH = produce_codec.MIN_VERSION, produce_codec.MAX_VERSION
VERSIONS = st.integers(LOW, HIGH)
INT16 = st.integers(-(2**15), 2**15 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)

partitions = st.lists(st.tuples(INT32, st.binary(max_size=40)), max_size=3)
topics = st.lists(st.tuples(NAMES, partitions), max_size=3)
settings_ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


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


def request_of(acks, transactional_id, data, timeout_ms=30_000):
    return ProduceRequest(
        transactional_id=transactional_id,
        acks=acks,
        timeout_ms=timeout_ms,
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


def plain(view: ProduceView) -> tuple:
    return (
        view.version,
        view.correlation_id,
        view.client_id,
        view.transactional_id,
        view.acks,
        view.timeout_ms,
        [(name, [(i, bytes(r)) for i, r in parts]) for name, parts in view.topics],
    )


def generated(frame) -> tuple:
    """What the generated decoder reads from ``frame``, in ``plain``'s form."""
    header, req = framing.decode_request(frame)
    return (
        header.request_api_version,
        header.correlation_id,
        header.client_id,
        req.transactional_id,
        req.acks,
        req.timeout_ms,
        [
            (
                t.name,
                [
                    (p.index, None if p.records is None else bytes(p.records))
                    for p in t.partition_data
                ],
            )
            for t in req.topic_data
        ],
    )


@pytest.mark.timeout(60)
@settings_
@given(
    version=VERSIONS,
    corr=INT32,
    client_id=st.none() | TEXT,
    acks=INT16,
    timeout_ms=INT32,
    transactional_id=st.none() | TEXT,
    data=topics,
)
def test_every_version_round_trips_through_the_generated_encoder(
    version, corr, client_id, acks, timeout_ms, transactional_id, data
):
    frame = frame_of(version, corr, client_id, request_of(acks, transactional_id, data, timeout_ms))
    view = parse(frame)
    assert view is not None
    expected = (version, corr, client_id, transactional_id, acks, timeout_ms, data)
    assert plain(view) == expected
    assert plain(view) == generated(frame)
    # Zero-copy: the records are views of the frame itself.
    for _, parts in view.topics:
        for _, records in parts:
            assert isinstance(records, memoryview) and records.obj is frame.obj


@pytest.mark.timeout(60)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(version=VERSIONS, transactional_id=st.none() | TEXT, data=topics)
def test_every_cut_of_a_frame_raises_protocol_error(version, transactional_id, data):
    frame = frame_of(version, 7, "client", request_of(-1, transactional_id, data))
    assert parse(frame) is not None
    for end in range(len(frame)):
        with pytest.raises(ProtocolError):
            parse(frame[:end])
        with pytest.raises(ProtocolError):
            framing.decode_request(frame[:end])


@pytest.mark.timeout(60)
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    version=VERSIONS,
    data=topics,
    transactional_id=st.none() | TEXT,
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_damaged_frames_agree_with_the_generated_decoder(version, data, transactional_id, edits):
    """A frame with bytes changed: the codec reads what the generated decoder reads, leaves it
    to it (None), or refuses it (ProtocolError) where the generated decoder refuses it too."""
    frame = bytearray(frame_of(version, 7, "client", request_of(1, transactional_id, data)))
    for at, value in edits:
        frame[at % len(frame)] = value
    try:
        view = parse(memoryview(frame))
    except ProtocolError:
        with pytest.raises(ProtocolError):
            framing.decode_request(frame)
        return
    if view is not None:
        assert plain(view) == generated(frame)


@pytest.mark.timeout(60)
def test_shapes_left_to_the_generated_decoder():
    simple = request_of(1, None, [("t", [(0, b"x")])])
    assert parse(frame_of(9, 1, "c", simple)) is not None
    # Tagged fields in the request header, the body, a topic or a partition (flexible versions).
    assert parse(frame_of(9, 1, "c", simple, header_tags=[(5, b"\x01")])) is None
    tagged = request_of(1, None, [("t", [(0, b"x")])])
    tagged.unknown_tagged_fields = [(9, b"")]
    assert parse(frame_of(9, 1, "c", tagged)) is None
    tagged = request_of(1, None, [("t", [(0, b"x")])])
    tagged.topic_data[0].unknown_tagged_fields = [(9, b"")]
    assert parse(frame_of(10, 1, "c", tagged)) is None
    tagged = request_of(1, None, [("t", [(0, b"x")])])
    tagged.topic_data[0].partition_data[0].unknown_tagged_fields = [(9, b"ab")]
    assert parse(frame_of(11, 1, "c", tagged)) is None
    # Null records.
    null_records = request_of(1, None, [("t", [(0, b"x"), (1, None)])])
    for version in (3, 8, 9, 11):
        assert parse(frame_of(version, 1, "c", null_records)) is None
    # Versions without a transactional id (0-2) and one past the schema's; another API.
    for version in (0, 1, 2):
        assert parse(frame_of(version, 1, "c", request_of(1, None, [("t", [(0, b"x")])]))) is None
    frame = bytearray(frame_of(HIGH, 1, "c", simple))
    frame[2:4] = (HIGH + 1).to_bytes(2, "big")
    assert parse(frame) is None
    other = bytearray(frame_of(9, 1, "c", simple))
    other[1] = 1  # api key 1 (Fetch)
    assert parse(other) is None


@pytest.mark.timeout(60)
def test_malformed_requests_raise_protocol_error():
    simple = request_of(1, None, [("t", [(0, b"x")])])
    # A null topic array and a null topic name, non-flexible and flexible.
    frame = bytearray(frame_of(8, 1, None, request_of(1, None, [])))
    frame[-4:] = b"\xff\xff\xff\xff"
    cases = [frame]
    frame = bytearray(frame_of(9, 1, None, request_of(1, None, [])))
    frame[-2] = 0  # compact array length 0: null
    cases.append(frame)
    frame = bytearray(frame_of(8, 1, None, simple))
    at = frame.index(b"\x00\x01t")
    frame[at : at + 2] = b"\xff\xff"
    cases.append(frame)
    frame = bytearray(frame_of(9, 1, None, simple))
    at = frame.index(b"\x02t")
    frame[at] = 0
    cases.append(frame)
    # Invalid UTF-8 in the client id and a topic name; records overrunning the frame.
    frame = bytearray(frame_of(8, 1, "c", simple))
    frame[frame.index(b"c")] = 0xFF
    cases.append(frame)
    frame = bytearray(frame_of(9, 1, None, simple))
    frame[frame.index(b"\x02t") + 1] = 0xC3
    cases.append(frame)
    frame = bytearray(frame_of(8, 1, None, simple))
    frame[-5:-1] = (2).to_bytes(4, "big")
    cases.append(frame)
    # An array longer than the bytes left; a varint of more than 10 bytes.
    frame = bytearray(frame_of(8, 1, None, simple))
    at = frame.index(b"\x00\x01t") - 4
    frame[at : at + 4] = (1000).to_bytes(4, "big")
    cases.append(frame)
    frame = bytearray(frame_of(9, 1, None, request_of(1, None, [])))
    frame[-2:] = b"\xff" * 11
    cases.append(frame)
    for frame in cases:
        with pytest.raises(ProtocolError):
            parse(frame)
        with pytest.raises(ProtocolError):
            framing.decode_request(frame)


def test_trailing_bytes_are_ignored_as_the_generated_decoder_does():
    frame = bytes(frame_of(9, 1, "c", request_of(1, "tx", [("t", [(0, b"x")])]))) + b"\x00\x07"
    view = parse(frame)
    assert view is not None and plain(view) == generated(frame)


def test_is_produce():
    frame = frame_of(9, 1, "c", request_of(1, None, []))
    assert produce_codec.is_produce(frame)
    assert produce_codec.is_produce(b"\x00\x00\x00\x00\x00\x00", 4)
    assert not produce_codec.is_produce(b"\x00\x01")  # Fetch
    assert not produce_codec.is_produce(b"\x01\x00")  # key 256
    assert not produce_codec.is_produce(b"\x00")  # too short to tell
    assert not produce_codec.is_produce(b"\x00\x00\x00", 2)


OUTCOMES = st.lists(
    st.tuples(NAMES, st.lists(st.tuples(INT32, INT64, INT64, INT64), max_size=3)), max_size=3
)


def expected_response(results) -> ProduceResponse:
    return ProduceResponse(
        responses=[
            ProduceResponse.TopicProduceResponse(
                name=name,
                partition_responses=[
                    ProduceResponse.PartitionProduceResponse(
                        index=i, base_offset=base, log_append_time_ms=ts, log_start_offset=start
                    )
                    for i, base, ts, start in parts
                ],
            )
            for name, parts in results
        ]
    )


def frame_bytes(chunks) -> bytes:
    return b"".join(bytes(c) for c in chunks)


@pytest.mark.timeout(60)
@settings_
@given(version=VERSIONS, corr=INT32, results=OUTCOMES)
def test_success_answer_is_what_the_generated_encoder_writes(version, corr, results):
    outcomes = [
        (name, [(i, 0, base, ts, start, None) for i, base, ts, start in parts])
        for name, parts in results
    ]
    response = expected_response(results)
    chunks = framing.encode_response(corr, 0, version, ProduceAnswer(outcomes))
    assert len(chunks) == 1  # packed in one buffer
    packed = frame_bytes(chunks)
    assert packed == frame_bytes(framing.encode_response(corr, 0, version, response))
    size = int.from_bytes(packed[:4], "big", signed=True)
    assert size == len(packed) - 4
    got_corr, decoded = framing.decode_response(0, version, packed[4:])
    assert got_corr == corr
    if version < 5:  # no log start offset before v5: it reads back as its default
        for t in response.responses:
            for p in t.partition_responses:
                p.log_start_offset = -1
    assert decoded == response
    assert response_of(outcomes) == expected_response(results)


@pytest.mark.timeout(60)
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(version=VERSIONS, corr=INT32, code=st.integers(1, 120), message=st.none() | TEXT)
def test_an_answer_with_an_error_is_the_generated_response(version, corr, code, message):
    outcomes = [("t", [(0, 0, 5, -1, 0, None), (1, code, -1, -1, -1, message)])]
    chunks = framing.encode_response(corr, 0, version, ProduceAnswer(outcomes))
    expected = framing.encode_response(corr, 0, version, response_of(outcomes))
    assert frame_bytes(chunks) == frame_bytes(expected)
    _, decoded = framing.decode_response(0, version, frame_bytes(chunks)[4:])
    partition = decoded.responses[0].partition_responses[1]
    assert partition.error_code == code
    assert partition.error_message == (message if version >= 8 else None)


def test_a_success_with_a_message_is_not_packed():
    outcomes = [("t", [(0, 0, 5, -1, 0, "note")])]
    assert not produce_codec.succeeded(outcomes)
    assert produce_codec.succeeded([("t", [(0, 0, 5, -1, 0, None)])])
    _, decoded = framing.decode_response(
        0, 9, frame_bytes(framing.encode_response(1, 0, 9, ProduceAnswer(outcomes)))[4:]
    )
    assert decoded.responses[0].partition_responses[0].error_message == "note"


def test_no_version_outside_the_codec_is_packed():
    for version in (LOW - 1, HIGH + 1):
        with pytest.raises(ValueError):
            produce_codec.encode_success(bytearray(), version, [])
