"""kpy.testing's in-process harness: a broker served in the test's own trio run (and in a
thread), a raw client, condition waits, and what trio's MockClock does with real sockets."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from conformance.raw import create_topic, fetch_request, produce_request
from conformance.wire import WireClient
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.protocol.records import Record, build_batch
from kpy.server import StartupError
from kpy.testing import (
    BrokerThread,
    ConnectionClosed,
    RawClient,
    in_process_broker,
    newest_version,
    wait_until,
)

pytestmark = pytest.mark.timeout(30)


async def test_serves_on_an_ephemeral_port_and_stops_at_exit(tmp_path):
    async with in_process_broker(tmp_path, num_partitions=2) as b:
        host, port = b.bootstrap.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        assert b.broker.config.get("num.partitions") == 2
        async with b.connect() as client:
            answer = await client.send(MetadataRequest(topics=None), 12)
        assert [(n.node_id, n.host, n.port) for n in answer.brokers] == [(1, host, int(port))]
        assert answer.cluster_id == b.broker.metadata.cluster_id
    with pytest.raises(OSError):
        await trio.open_tcp_stream(host, int(port))
    # The data dir was unlocked: a broker starts on it again, with the same cluster id.
    async with in_process_broker(tmp_path) as again:
        assert again.broker.metadata.cluster_id == answer.cluster_id


async def test_a_locked_data_dir_fails_the_start(tmp_path):
    async with in_process_broker(tmp_path):
        with pytest.raises(StartupError, match=str(tmp_path)):
            async with in_process_broker(tmp_path):
                pass  # pragma: no cover


async def test_raw_client_defaults_to_the_newest_version_and_sees_a_close(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as client:
        answer = await client.send(MetadataRequest(topics=None))
        assert client.correlation_id == 1 and answer.cluster_id is not None
        assert newest_version(3) == 12
        await client.send_raw(b"\x00\x00\x00\x02\xff\xff")  # shorter than any header
        assert await client.is_closed(timeout=5)
        with pytest.raises(ConnectionClosed):
            await client.send(MetadataRequest(topics=None), 12)


async def test_wait_until_returns_the_value_or_names_what_it_waited_for():
    calls = []

    def third_time() -> int:
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    assert await wait_until(third_time, timeout=5) == 3

    async def never() -> bool:
        return False

    started = time.monotonic()
    with pytest.raises(AssertionError, match="timed out after 0.05s waiting for nothing"):
        await wait_until(never, timeout=0.05, what="nothing")
    assert time.monotonic() - started < 5


# A fetch of partition 0 of "t" from offset 0 that waits up to 60 s for a byte.
LONG_POLL = fetch_request("t", 0, max_wait_ms=60_000)


@asynccontextmanager
async def a_waiting_fetch(b: Any, client: RawClient) -> AsyncIterator[list[Any]]:
    """Creates "t" and sends LONG_POLL; the block runs once the broker holds it waiting, and
    is given the list that its answer is put in (there when the block and the fetch end)."""
    await b.broker.create_topic("t", 1, 1, {})
    answers: list[Any] = []

    async def ask() -> None:
        answers.append(await client.send(LONG_POLL, 12))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ask)
        await wait_until(
            lambda: b.broker.statistics()["fetch_waiters"] == 1, what="the fetch to wait"
        )
        yield answers


async def test_a_fetch_long_poll_ends_when_a_frozen_mock_clock_jumps(tmp_path, mock_clock):
    """Under a frozen MockClock the broker's waits end only when the test moves time: a fetch
    waiting 60 s for data is answered, empty, right after a 60 s jump (and not before)."""
    async with in_process_broker(tmp_path) as b, b.connect() as client:
        async with a_waiting_fetch(b, client) as answers:
            assert answers == []
            mock_clock.jump(59)
            await trio.testing.wait_all_tasks_blocked()
            assert answers == [] and b.broker.statistics()["fetch_waiters"] == 1
            mock_clock.jump(1)
        part = answers[0].responses[0].partitions[0]
        assert (part.error_code, part.high_watermark, bytes(part.records)) == (0, 0, b"")


async def test_a_fetch_long_poll_ends_at_an_append(tmp_path, mock_clock):
    async with in_process_broker(tmp_path) as b, b.connect() as client, b.connect() as other:
        async with a_waiting_fetch(b, client) as answers:
            batch = build_batch([Record(b"k", b"v", [], 0, 0)], base_timestamp=1)
            produced = await other.send(produce_request("t", batch, timeout_ms=1000), 9)
            assert produced.responses[0].partition_responses[0].error_code == 0
        part = answers[0].responses[0].partitions[0]
        assert part.high_watermark == 1 and len(part.records) == len(batch)


def test_broker_thread_serves_synchronous_clients(tmp_path):
    with BrokerThread(tmp_path, num_partitions=4) as b:
        with WireClient(b.bootstrap) as wire:
            answer = wire.send(MetadataRequest(topics=None), 12)
        assert answer.brokers[0].port == int(b.bootstrap.rsplit(":", 1)[1])
        assert b.call(lambda: b.broker.config.get("num.partitions")) == 4
        bootstrap = b.bootstrap
    with pytest.raises(OSError):
        WireClient(bootstrap, timeout=2)


def test_broker_thread_reports_a_failed_start(tmp_path):
    with BrokerThread(tmp_path), pytest.raises(RuntimeError, match="failed to start"):
        BrokerThread(tmp_path).start()


async def test_raw_client_connects_by_bootstrap(tmp_path):
    async with in_process_broker(tmp_path) as b:
        client = await RawClient.connect(b.bootstrap, client_id="me")
        async with client:
            await client.send(MetadataRequest(topics=None), 12)
            assert b.broker.statistics()["connections"] == 1
        await wait_until(lambda: b.broker.statistics()["connections"] == 0, what="the close")


def _produce_one(bootstrap: str, topic: str) -> None:
    batch = build_batch([Record(b"k", b"v", [], 0, 0)], base_timestamp=1)
    with WireClient(bootstrap) as wire:
        create_topic(wire, topic)
        answer = wire.send(produce_request(topic, batch, timeout_ms=5000), 9)
    assert answer.responses[0].partition_responses[0].error_code == 0


def _high_watermark(bootstrap: str, topic: str) -> int:
    with WireClient(bootstrap) as wire:
        answer = wire.send(fetch_request(topic, 0), 12)
    return answer.responses[0].partitions[0].high_watermark


@pytest.mark.parametrize("crash", [False, True])
def test_broker_thread_restarts_on_its_port_with_its_records(tmp_path, crash):
    """A restart keeps the port and the records; a crash leaves no clean-shutdown marker, so
    the next start recovers, as after a SIGKILL of a broker process."""
    with BrokerThread(tmp_path) as b:
        _produce_one(b.bootstrap, "t")
        bootstrap = b.bootstrap
        b.stop(crash=crash)
        assert (tmp_path / ".kafka_cleanshutdown").exists() is not crash
        b.start()
        assert b.bootstrap == bootstrap
        assert _high_watermark(bootstrap, "t") == 1
        b.restart(crash=True)
        assert _high_watermark(bootstrap, "t") == 1


def test_a_broker_process_whose_start_is_interrupted_is_killed(tmp_path, monkeypatch):
    import kpy.testing

    broker = kpy.testing.BrokerProcess(tmp_path / "data")

    def interrupted(*args: Any) -> Any:
        raise KeyboardInterrupt  # Ctrl-C while the test run waits for the ready line

    monkeypatch.setattr(kpy.testing.select, "select", interrupted)
    with pytest.raises(KeyboardInterrupt):
        broker.start()
    assert broker.proc is not None and broker.proc.poll() is not None  # not left running


def test_a_broker_thread_whose_start_timed_out_is_stopped_by_stop(tmp_path):
    b = BrokerThread(tmp_path, start_timeout=0.001)
    with pytest.raises(RuntimeError, match="did not start within"):
        b.start()
    b.stop(timeout=5)  # the start carried on meanwhile: stop waits for it, then ends it
    assert not [t for t in threading.enumerate() if t.name == "kpy-broker"]
