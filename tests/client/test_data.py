"""kpy.client's data functions (produce, fetch_records, Consumer) on a broker served in the
test's trio run, through the in-process transport the console uses, and their pure parts:
Kafka's murmur2, start positions, stdin lines, kcat's format tokens and the JSON form."""

from __future__ import annotations

import pytest
import trio

import kpy.client.consumer
import kpy.client.fetch
from kpy.cli.consume import compile_format, json_record
from kpy.cli.produce import LineSplitter, to_record
from kpy.client import Client, ClientError, admin
from kpy.client.consumer import Consumer, StartPosition
from kpy.client.fetch import (
    LEADER_MOVES,
    RETRY_BACKOFF_S,
    ConsumedRecord,
    FetchedPartition,
    fetch_records,
)
from kpy.client.partitioner import murmur2, partition_for_key
from kpy.client.produce import ProducerRecord, produce
from kpy.testing import in_process_broker

pytestmark = pytest.mark.timeout(30)


async def test_produce_then_browse_newest_first_in_process(tmp_path):
    """The console's message browser asks for the last N offsets of a partition."""
    async with in_process_broker(tmp_path) as b, Client.local(b.broker) as client:
        await admin.create_topic(client, "browse", 2)
        records = [ProducerRecord(f"v{i}".encode(), b"k", [("h", b"x")]) for i in range(10)]
        results = await produce(client, "browse", records, compression="zstd")
        partition = partition_for_key(b"k", 2)
        assert [(r.partition, r.offset, r.error) for r in results] == [
            (partition, i, None) for i in range(10)
        ]
        newest = await fetch_records(client, "browse", partition, 7)
        assert [(r.offset, r.key, r.value, r.headers) for r in newest] == [
            (i, b"k", f"v{i}".encode(), [("h", b"x")]) for i in (7, 8, 9)
        ]
        assert [
            r.offset for r in await fetch_records(client, "browse", partition, 2, max_records=3)
        ] == [2, 3, 4]
        assert await fetch_records(client, "browse", partition, 10) == []
        with pytest.raises(ClientError, match="OFFSET_OUT_OF_RANGE"):
            await fetch_records(client, "browse", partition, 11)


async def test_consumer_reads_every_partition_to_the_end(tmp_path):
    async with in_process_broker(tmp_path) as b, Client.local(b.broker) as client:
        await admin.create_topic(client, "all", 3)
        await produce(client, "all", [ProducerRecord(b"%d" % i, b"%d" % i) for i in range(30)])
        async with Consumer(client, "all", start=StartPosition("beginning")) as consumer:
            seen = [r async for part in consumer.batches(stop_at_end=True) for r in part.records]
        assert sorted(int(r.value) for r in seen) == list(range(30))
        assert all(r.key == r.value for r in seen)


def test_murmur2_matches_kafka():
    # Values of Kafka's UtilsTest.testMurmur2.
    assert murmur2(b"21") == -973932308
    assert murmur2(b"foobar") == -790332482
    assert murmur2(b"a-little-bit-long-string") == -985981536
    assert murmur2(b"a-little-bit-longer-string") == -1486304829
    assert murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971
    assert murmur2(b"abc") == 479470107


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("beginning", StartPosition("beginning")),
        ("end", StartPosition("end")),
        ("42", StartPosition("offset", 42)),
        ("-3", StartPosition("tail", 3)),
        ("@1700000000000", StartPosition("timestamp", 1700000000000)),
    ],
)
def test_start_positions(text, expected):
    assert StartPosition.parse(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "@", "+1", "1.5"])
def test_bad_start_positions(text):
    with pytest.raises(ValueError):
        StartPosition.parse(text)


def test_lines_split_across_reads():
    s = LineSplitter()
    assert s.feed(b"a\nb") == [b"a"]
    assert s.feed(b"c\n\nd") == [b"bc", b""]
    assert s.finish() == [b"d"]
    assert s.finish() == []


def test_key_separator_as_kcat():
    assert to_record(b"k:v:w", b":", []).key == b"k"
    assert to_record(b"k:v:w", b":", []).value == b"v:w"
    record = to_record(b"no separator", b":", [("h", b"1")])
    assert (record.key, record.value, record.headers) == (None, b"no separator", [("h", b"1")])


def test_format_tokens_and_json():
    r = ConsumedRecord("t", 1, 7, 1000, None, b"\x00\xff", [("a", b"1"), ("b", None)])
    assert compile_format(r"%k|%s|%h|%S|%K|%T|100%%\n")(r) == b"|\x00\xff|a=1,b=|2|-1|1000|100%\n"
    assert compile_format("plain %x")(r) == b"plain %x"  # unknown tokens are kept
    assert json_record(r)["value"] == {"base64": "AP8="}
    assert json_record(r)["headers"] == [{"key": "a", "value": "1"}, {"key": "b", "value": None}]


def _leader_moving_fetches(monkeypatch, module):
    """Make every Fetch through ``module`` answer NOT_LEADER_OR_FOLLOWER; returns the count."""
    calls = []

    async def not_leader(client, node, topic, offsets, **kw):
        calls.append(node)
        return {p: FetchedPartition(p, 6, [], o, -1, -1, -1) for p, o in offsets.items()}

    monkeypatch.setattr(module, "fetch_partitions", not_leader)
    return calls


async def test_fetch_records_gives_up_on_a_leader_that_keeps_moving(tmp_path, monkeypatch):
    async with in_process_broker(tmp_path) as b, Client.local(b.broker) as client:
        await admin.create_topic(client, "moving", 1)
        calls = _leader_moving_fetches(monkeypatch, kpy.client.fetch)
        with trio.fail_after(10), pytest.raises(ClientError, match="NOT_LEADER_OR_FOLLOWER"):
            await fetch_records(client, "moving", 0, 0)
        assert len(calls) == LEADER_MOVES + 1


async def test_the_consumer_backs_off_while_the_leader_moves(tmp_path, monkeypatch):
    # As Kafka's consumer waits retry.backoff.ms, rather than asking again at once.
    async with in_process_broker(tmp_path) as b, Client.local(b.broker) as client:
        await admin.create_topic(client, "moving", 1)
        async with Consumer(client, "moving", start=StartPosition("beginning")) as consumer:
            calls = _leader_moving_fetches(monkeypatch, kpy.client.consumer)
            with trio.move_on_after(1.0):
                async for _ in consumer.batches():
                    raise AssertionError("no records while the leader moves")
        assert 1 <= len(calls) <= 1.0 / RETRY_BACKOFF_S + 1
