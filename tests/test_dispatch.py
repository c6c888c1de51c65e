"""dispatch, bytes in and bytes out: the handler registry and the table that answers
ApiVersions without importing any handler, the version checks, the ApiVersions v0 fallback,
and the error boundary (every exception a handler raises becomes that API's error response;
only what gets no answer closes the connection)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
import trio

import kpy.handlers
from kpy import dispatch
from kpy.handlers import HANDLERS
from kpy.log_limiter import LogLimiter
from kpy.protocol import framing
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.api_versions import ApiVersionsRequest
from kpy.protocol.messages.heartbeat import HeartbeatRequest, HeartbeatResponse
from kpy.protocol.messages.list_offsets import ListOffsetsRequest, ListOffsetsResponse
from kpy.protocol.messages.produce import ProduceRequest

UNKNOWN = ErrorCode.UNKNOWN_SERVER_ERROR


def test_handler_table_matches_the_registrations():
    dispatch.load_handlers()
    assert dispatch.registered_versions() == dispatch.supported_versions()
    for key, (module, _, _) in HANDLERS.items():
        assert dispatch.REGISTRY[key].handler.__module__ == f"kpy.handlers.{module}"


def test_every_handler_module_is_in_the_table():
    modules = {p.stem for p in Path(kpy.handlers.__file__).parent.glob("api_*.py")}
    assert modules == {module for module, _, _ in HANDLERS.values()}


def test_no_handler_catches_kafka_errors_but_the_shared_helper():
    handlers = Path(kpy.handlers.__file__).parent
    catching = [p.name for p in handlers.glob("*.py") if "except KafkaError" in p.read_text()]
    assert catching == ["errors.py"]


# -- dispatch of one frame ---------------------------------------------------------------------


def _ctx(key: int, version: int, corr: int, client_id: str | None) -> dispatch.RequestContext:
    return dispatch.RequestContext(
        broker=None,  # type: ignore[arg-type]  # the handlers here never reach it
        api_key=key,
        api_version=version,
        correlation_id=corr,
        client_id=client_id,
        client_host="127.0.0.1",
        listener="PLAINTEXT",
        connection_id="test",
    )


def _frame(request, version: int, corr: int = 7) -> memoryview:
    key = type(request).API_KEY
    encoded = framing.encode_request(key, version, corr, "t", request)
    return memoryview(encoded)[4:]  # without the size prefix, as the connection hands it over


def _answer(request, version: int, corr: int = 7):
    """dispatch's answer to ``request``: (correlation id, decoded response), or None."""
    chunks = trio.run(dispatch.dispatch, _frame(request, version, corr), _ctx)
    if chunks is None:
        return None
    data = b"".join(bytes(c) for c in chunks)
    assert int.from_bytes(data[:4], "big") == len(data) - 4
    return framing.decode_response(type(request).API_KEY, version, data[4:])


def _patch(monkeypatch, key: int, handler=None, **changes) -> None:
    reg = dispatch.REGISTRY.get(key) or dispatch._registration(key)
    assert reg is not None
    if handler is not None:
        changes["handler"] = handler
    monkeypatch.setitem(dispatch.REGISTRY, key, dataclasses.replace(reg, **changes))


def test_a_request_is_decoded_and_answered_with_its_correlation_id():
    corr, response = _answer(
        ApiVersionsRequest(client_software_name="t", client_software_version="1"), 3, corr=41
    )
    assert corr == 41
    assert response.error_code == 0
    assert {(a.api_key, a.min_version, a.max_version) for a in response.api_keys} == {
        (k, lo, hi) for k, (_, lo, hi) in HANDLERS.items()
    }


def test_api_versions_newer_than_known_is_answered_at_v0_with_the_ranges():
    request = ApiVersionsRequest(client_software_name="t", client_software_version="1")
    raw = bytearray(_frame(request, 4))
    raw[2:4] = (99).to_bytes(2, "big")  # the version field of the header
    chunks = trio.run(dispatch.dispatch, memoryview(bytes(raw)), _ctx)
    data = b"".join(bytes(c) for c in chunks)
    corr, response = framing.decode_response(18, 0, data[4:])
    assert corr == 7
    assert response.error_code == ErrorCode.UNSUPPORTED_VERSION
    assert len(response.api_keys) == len(HANDLERS)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x00\x12", "unreadable request header"),
        (b"\x7f\x00\x00\x00\x00\x00\x00\x01\xff\xff", "API key 32512"),  # no such API
        (b"\x00\x00\x00\x01\x00\x00\x00\x01\xff\xff", "Produce v1 is outside 3-11"),
        (b"\x00\x03\x00\x01\x00\x00\x00\x01\xff\xff\x00\x00\x00", "malformed Metadata v1"),
    ],
)
def test_frames_that_get_no_answer_close_the_connection(frame, reason):
    with pytest.raises(dispatch.CloseConnection, match=reason):
        trio.run(dispatch.dispatch, memoryview(frame), _ctx)


def test_a_kafka_error_is_answered_with_its_code(monkeypatch):
    async def refuse(ctx, req):
        raise KafkaError(ErrorCode.REBALANCE_IN_PROGRESS)

    _patch(monkeypatch, 12, refuse)
    _, response = _answer(HeartbeatRequest(group_id="g"), 4)
    assert response == HeartbeatResponse(error_code=ErrorCode.REBALANCE_IN_PROGRESS)


def test_an_unexpected_error_is_unknown_server_error_for_every_part_logged_once(
    monkeypatch, caplog
):
    async def boom(ctx, req):
        raise RuntimeError("a bug")

    _patch(monkeypatch, 2, boom)
    monkeypatch.setattr(dispatch, "_failures", LogLimiter(dispatch.log))  # none held back yet
    t = ListOffsetsRequest.ListOffsetsTopic
    p = ListOffsetsRequest.ListOffsetsPartition
    request = ListOffsetsRequest(
        topics=[t(name="a", partitions=[p(partition_index=0), p(partition_index=3)])]
    )
    with caplog.at_level(logging.ERROR, logger="kpy.dispatch"):
        answers = [_answer(request, 10)[1] for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    (topic,) = answers[0].topics
    assert [(p.partition_index, p.error_code, p.offset) for p in topic.partitions] == [
        (0, UNKNOWN, -1),
        (3, UNKNOWN, -1),
    ]
    assert isinstance(answers[0], ListOffsetsResponse)
    failures = [r for r in caplog.records if "handler failed" in r.getMessage()]
    assert len(failures) == 1  # repeats are held back by the rate limit
    assert failures[0].exc_info is not None and failures[0].exc_info[0] is RuntimeError


@pytest.mark.parametrize("request_log", [logging.INFO, logging.DEBUG], ids=["quiet", "debug"])
def test_a_response_that_cannot_be_encoded_is_answered_as_an_error(
    monkeypatch, caplog, request_log
):
    async def broken(ctx, req):
        return HeartbeatResponse(error_code=1 << 20)  # no int16

    _patch(monkeypatch, 12, broken)
    with caplog.at_level(request_log, logger="kpy.request"):
        _, response = _answer(HeartbeatRequest(group_id="g"), 4)
    assert response == HeartbeatResponse(error_code=UNKNOWN)


def test_a_registered_error_response_is_used_and_none_closes(monkeypatch):
    async def boom(ctx, req):
        raise RuntimeError("a bug")

    _patch(
        monkeypatch,
        12,
        boom,
        error_response=lambda req, v, code: HeartbeatResponse(error_code=code, throttle_time_ms=5),
    )
    assert _answer(HeartbeatRequest(group_id="g"), 4)[1].throttle_time_ms == 5
    _patch(monkeypatch, 12, boom, error_response=lambda req, v, code: None)
    with pytest.raises(dispatch.CloseConnection, match="no answer"):
        _answer(HeartbeatRequest(group_id="g"), 4)


def test_a_failed_acks_0_produce_closes_the_connection_as_kafka_does(monkeypatch):
    async def boom(ctx, req):
        raise RuntimeError("a bug")

    _patch(monkeypatch, 0, boom)
    t = ProduceRequest.TopicProduceData
    p = ProduceRequest.PartitionProduceData
    topics = [t(name="t", partition_data=[p(index=0)])]
    with pytest.raises(dispatch.CloseConnection):
        _answer(ProduceRequest(acks=0, transactional_id="x", topic_data=topics), 9)
    _, answered = _answer(ProduceRequest(acks=1, transactional_id="x", topic_data=topics), 9)
    (part,) = answered.responses[0].partition_responses
    assert (part.index, part.error_code, part.base_offset) == (0, UNKNOWN, -1)


def test_close_connection_from_a_handler_is_not_answered(monkeypatch):
    async def close(ctx, req):
        raise dispatch.CloseConnection("the handler says so")

    _patch(monkeypatch, 12, close)
    with pytest.raises(dispatch.CloseConnection, match="the handler says so"):
        _answer(HeartbeatRequest(group_id="g"), 4)


def test_a_failure_to_count_a_request_still_answers_it(caplog):
    class Broken:
        def request_done(self, *args):
            raise RuntimeError("a bug in the metrics")

    async def main():
        return await dispatch.dispatch(_frame(ApiVersionsRequest(), 2), _ctx, Broken())

    chunks = trio.run(main)
    data = b"".join(bytes(c) for c in chunks)
    assert framing.decode_response(18, 2, data[4:])[1].error_code == 0
    assert any("could not be counted" in r.getMessage() for r in caplog.records)
