"""Produce takes the one request path: connection -> dispatch -> handler.

Dispatch reads Produce with kpy.protocol.produce_codec when the request has its shape (the
handler then gets records as views of the frame) and with the generated decoder otherwise;
both give the same answer, and both meet dispatch's error boundary. Requests are bytes, the
broker a fake with in-memory logs; no sockets, trio's MockClock.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trio
import trio.testing

import kpy
import kpy.dispatch as dispatch_module
from kpy.dispatch import CloseConnection, RequestContext, dispatch
from kpy.protocol import api_keys, framing, produce_codec, records
from kpy.protocol.error_codes import ErrorCode, KafkaError
from kpy.protocol.messages.produce import ProduceRequest, ProduceResponse
from kpy.protocol.messages.request_header import RequestHeader
from kpy.protocol.produce_codec import ProduceView
from kpy.protocol.records import Record

CONFIG = {
    "max.message.bytes": 1048588,
    "message.timestamp.type": "CreateTime",
    "cleanup.policy": "delete",
    "compression.type": "producer",
    "message.timestamp.before.max.ms": 2**63 - 1,
    "message.timestamp.after.max.ms": 2**63 - 1,
}


class FakeLog:
    def __init__(self) -> None:
        self.appended: list[Any] = []  # the validated batches, as given
        self.log_start_offset = 0

    def append_batch(self, batch: Any, epoch: int) -> Any:
        base = sum(b.header.last_offset_delta + 1 for b in self.appended)
        self.appended.append(batch)
        return SimpleNamespace(base_offset=base, log_append_time_ms=-1, log_start_offset=0)

    def flush_due(self, now_ms: int) -> bool:
        return False


class FakeBroker:
    """What the Produce handler uses: topic metadata, partition logs, configs."""

    def __init__(self) -> None:
        self.logs = {("t", 0): FakeLog(), ("t", 1): FakeLog()}
        self.metadata = SimpleNamespace(get=self._topic)
        self.fail: Exception | None = None  # raised by partition_log when set
        self.flush_error: Exception | None = None
        self.notified: list[tuple[str, int]] = []

    def _topic(self, name: str) -> Any:
        if name != "t":
            return None
        return SimpleNamespace(internal=False, leader_epochs=[0, 0], partitions=2)

    def clock(self) -> float:
        return 1_700_000_000.0

    def partition_log(self, topic: str, index: int) -> FakeLog:
        if self.fail is not None:
            raise self.fail
        if (topic, index) not in self.logs:
            raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"{topic}-{index}")
        return self.logs[(topic, index)]

    def topic_effective_config(self, name: str) -> dict:
        return CONFIG

    def notify_append(self, tp: tuple[str, int]) -> None:
        self.notified.append(tp)


def batch(n: int = 2) -> bytes:
    return records.build_batch([Record(None, b"v%d" % i, [], i) for i in range(n)])


def produce_frame(version: int, acks: int = 1, parts=((0, 2),), tagged: bool = False):
    request = ProduceRequest(
        acks=acks,
        timeout_ms=5000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name="t",
                partition_data=[
                    ProduceRequest.PartitionProduceData(index=i, records=batch(n)) for i, n in parts
                ],
            )
        ],
    )
    if tagged:  # a shape the codec leaves to the generated decoder
        request.unknown_tagged_fields = [(7, b"x")]
    header = RequestHeader(
        request_api_key=0, request_api_version=version, correlation_id=9, client_id="cl"
    )
    raw = header.encode(api_keys.request_header_version(0, version)) + request.encode(version)
    return memoryview(bytearray(raw))


def run(broker: FakeBroker, frame: memoryview) -> Any:
    contexts: list[RequestContext] = []

    def make_ctx(key: int, version: int, corr: int, client_id: str | None) -> RequestContext:
        ctx = RequestContext(broker, key, version, corr, client_id, "127.0.0.1", "L", "conn-1")  # type: ignore[arg-type]
        contexts.append(ctx)
        return ctx

    async def main() -> Any:
        return await dispatch(frame, make_ctx)

    chunks = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert [(c.api_key, c.correlation_id, c.client_id) for c in contexts] == [(0, 9, "cl")]
    return chunks


def answer(chunks: list, version: int) -> ProduceResponse:
    data = b"".join(bytes(c) for c in chunks)
    assert int.from_bytes(data[:4], "big") == len(data) - 4
    corr, response = framing.decode_response(0, version, data[4:])
    assert corr == 9
    return response


def outcomes(response: ProduceResponse) -> list[tuple]:
    return [
        (t.name, p.index, p.error_code, p.base_offset)
        for t in response.responses
        for p in t.partition_responses
    ]


@pytest.mark.parametrize("version", range(3, 12))
def test_produce_is_appended_zero_copy_and_answered(version):
    broker = FakeBroker()
    frame = produce_frame(version, parts=((0, 2), (1, 3)))
    response = answer(run(broker, frame), version)
    assert outcomes(response) == [("t", 0, 0, 0), ("t", 1, 0, 0)]
    assert broker.notified == [("t", 0), ("t", 1)]
    # The batches were validated and appended straight from the request frame.
    for tp, count in ((("t", 0), 2), (("t", 1), 3)):
        (appended,) = broker.logs[tp].appended
        assert appended.header.last_offset_delta + 1 == count
        assert isinstance(appended.buffer, memoryview) and appended.buffer.obj is frame.obj
    response = answer(run(broker, produce_frame(version)), version)
    assert outcomes(response) == [("t", 0, 0, 2)]


@pytest.mark.parametrize("version", [3, 9, 11])
def test_a_shape_left_to_the_generated_decoder_gets_the_same_answer(version, monkeypatch):
    read: list[Any] = []
    original = produce_codec.parse

    def parse(frame: memoryview) -> Any:
        read.append(original(frame))
        return read[-1]

    monkeypatch.setattr(dispatch_module.produce_codec, "parse", parse)
    fast, general = FakeBroker(), FakeBroker()
    one = b"".join(bytes(c) for c in run(fast, produce_frame(version)))
    other = b"".join(bytes(c) for c in run(general, produce_frame(version, tagged=version >= 9)))
    assert one == other
    assert len(general.logs[("t", 0)].appended) == 1
    # The first went through the codec; the second, with tagged fields, was left to the
    # generated decoder (v3 has no tagged fields: both through the codec).
    assert isinstance(read[0], ProduceView)
    assert (read[1] is None) == (version >= 9)


def test_partition_errors_are_answered_per_partition():
    broker = FakeBroker()
    response = answer(run(broker, produce_frame(11, parts=((0, 1), (5, 1)))), 11)
    assert outcomes(response) == [
        ("t", 0, 0, 0),
        ("t", 5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1),
    ]


def test_acks_0_is_appended_and_not_answered():
    broker = FakeBroker()
    assert run(broker, produce_frame(9, acks=0)) is None
    assert len(broker.logs[("t", 0)].appended) == 1


def test_invalid_acks_are_refused_by_the_handler():
    broker = FakeBroker()
    response = answer(run(broker, produce_frame(9, acks=5, parts=((0, 1), (7, 1)))), 9)
    assert outcomes(response) == [
        ("t", 0, ErrorCode.INVALID_REQUIRED_ACKS, -1),
        ("t", 7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1),
    ]
    assert broker.logs[("t", 0)].appended == []


@pytest.mark.parametrize("tagged", [False, True])
def test_an_unexpected_failure_is_unknown_server_error_for_every_partition(tagged):
    broker = FakeBroker()
    broker.fail = RuntimeError("boom")
    response = answer(run(broker, produce_frame(9, parts=((0, 1), (1, 1)), tagged=tagged)), 9)
    assert outcomes(response) == [
        ("t", 0, ErrorCode.UNKNOWN_SERVER_ERROR, -1),
        ("t", 1, ErrorCode.UNKNOWN_SERVER_ERROR, -1),
    ]


def test_a_kafka_error_from_the_handler_is_answered_with_its_code():
    broker = FakeBroker()

    async def flush_logs(due: list) -> None:
        raise KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, "disk gone")

    broker.flush_logs = flush_logs  # type: ignore[attr-defined]
    broker.logs[("t", 0)].flush_due = lambda now_ms: True  # type: ignore[method-assign]
    response = answer(run(broker, produce_frame(9)), 9)
    assert outcomes(response) == [("t", 0, ErrorCode.KAFKA_STORAGE_ERROR, -1)]


def test_a_failed_acks_0_request_closes_the_connection():
    # As Kafka: the producer expects no answer, so a failure is told by closing.
    broker = FakeBroker()
    broker.fail = RuntimeError("boom")
    with pytest.raises(CloseConnection):
        run(broker, produce_frame(9, acks=0))


def test_produce_requests_leave_the_debug_line(caplog):
    broker = FakeBroker()
    with caplog.at_level(logging.DEBUG, logger="kpy.request"):
        run(broker, produce_frame(11))
        run(broker, produce_frame(9, acks=0))
    lines = [r.getMessage() for r in caplog.records if r.name == "kpy.request"]
    assert len(lines) == 2
    assert (
        "conn-1 127.0.0.1 client_id='cl' Produce v11 correlation_id=9 partitions=1 [t-0]: answered"
        in lines[0]
    )
    assert "Produce v9 correlation_id=9 partitions=1 [t-0]: no response due" in lines[1]


def test_connection_imports_no_handler():
    source = Path(kpy.__file__).parent / "connection.py"
    imported = []
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
        elif isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
    assert "kpy.dispatch" in imported
    assert not [m for m in imported if m.startswith("kpy.handlers")]
    assert "kpy.handlers" not in source.read_text()
