"""Produce (0), Fetch (1), ListOffsets (2) and OffsetForLeaderEpoch (23) against an in-process
broker: offsets, limits, per-partition errors and leader-epoch checks as Kafka answers them."""

from __future__ import annotations

import uuid

import pytest
import trio

from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.fetch import FetchRequest
from kpy.protocol.messages.list_offsets import ListOffsetsRequest
from kpy.protocol.messages.offset_for_leader_epoch import OffsetForLeaderEpochRequest
from kpy.protocol.messages.produce import ProduceRequest
from kpy.testing import ConnectionClosed, in_process_broker, wait_until
from tests.handlers.helpers import (
    batch,
    create_topic,
    fetch,
    fetch_request,
    list_offset,
    now_ms,
    produce,
    produce_request,
    records_of,
)

pytestmark = pytest.mark.timeout(30)

MiB = 1 << 20


# -- Produce ------------------------------------------------------------------------------------


async def test_produce_assigns_consecutive_offsets_and_reports_the_log_start(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        first = await produce(c, "t", batch(3))
        second = await produce(c, "t", batch(2))
        assert (first.error_code, first.base_offset, first.log_start_offset) == (0, 0, 0)
        assert (second.error_code, second.base_offset) == (0, 3)
        assert first.log_append_time_ms == -1  # CreateTime topic
        assert first.error_message is None and first.record_errors == []
        assert b.broker.partition_log("t", 0).high_watermark == 5


async def test_produce_partitions_fail_independently(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        request = ProduceRequest(
            acks=-1,
            timeout_ms=5000,
            topic_data=[
                ProduceRequest.TopicProduceData(
                    name="t",
                    partition_data=[
                        ProduceRequest.PartitionProduceData(index=0, records=batch()),
                        ProduceRequest.PartitionProduceData(index=2, records=batch()),
                        ProduceRequest.PartitionProduceData(index=1, records=b"\x00" * 70),
                    ],
                ),
                ProduceRequest.TopicProduceData(
                    name="missing",
                    partition_data=[ProduceRequest.PartitionProduceData(index=0, records=batch())],
                ),
                ProduceRequest.TopicProduceData(name="t", partition_data=[]),
            ],
        )
        answer = await c.send(request, 11)
        assert [
            (t.name, [(p.index, p.error_code, p.base_offset) for p in t.partition_responses])
            for t in answer.responses
        ] == [
            (
                "t",
                [
                    (0, 0, 0),
                    (2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1),
                    (1, ErrorCode.INVALID_RECORD, -1),  # magic 0
                ],
            ),
            ("missing", [(0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1)]),
        ]
        assert b.broker.partition_log("t", 1).log_end_offset == 0


async def test_produce_refusals_name_the_problem(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 1, {"max.message.bytes": "200"})
        too_large = await produce(c, "t", batch(20))
        assert too_large.error_code == ErrorCode.MESSAGE_TOO_LARGE
        assert "max.message.bytes=200" in too_large.error_message
        corrupt = bytearray(batch())
        corrupt[-1] ^= 0xFF  # the CRC no longer matches
        assert (await produce(c, "t", bytes(corrupt))).error_code == ErrorCode.CORRUPT_MESSAGE
        two = batch() + batch()
        refused = await produce(c, "t", two)
        assert refused.error_code == ErrorCode.INVALID_RECORD
        assert "exactly one record batch" in refused.error_message
        control = bytes(records.build_control_batch(1, producer_id=1, producer_epoch=0))
        assert (await produce(c, "t", control)).error_code == ErrorCode.INVALID_RECORD
        assert b.broker.partition_log("t", 0).log_end_offset == 0


async def test_produce_out_of_range_timestamp_carries_the_log_start_offset(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 1, {"message.timestamp.before.max.ms": "60000"})
        await produce(c, "t", batch(2))
        old = await produce(c, "t", batch(timestamp=now_ms() - 3_600_000))
        assert (old.error_code, old.base_offset, old.log_start_offset) == (
            ErrorCode.INVALID_TIMESTAMP,
            -1,
            0,
        )
        ok = await produce(c, "t", batch(timestamp=now_ms() - 30_000))
        assert (ok.error_code, ok.base_offset) == (0, 2)


async def test_log_append_time_topic_stamps_the_batch(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 1, {"message.timestamp.type": "LogAppendTime"})
        before = now_ms()
        answer = await produce(c, "t", batch(2, timestamp=1))
        assert before <= answer.log_append_time_ms <= now_ms()
        data = bytes((await fetch(c, "t", 0)).records)
        header = records.read_header(data)
        assert header.is_log_append_time and header.max_timestamp == answer.log_append_time_ms


async def test_produce_to_an_internal_topic_is_refused(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await b.broker.groups.ensure_topic()
        answer = await produce(c, "__consumer_offsets", batch())
        assert answer.error_code == ErrorCode.INVALID_TOPIC_EXCEPTION


async def test_acks_zero_is_appended_without_an_answer(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        assert await produce(c, "t", batch(2), acks=0) is None
        assert await produce(c, "t", batch(1), acks=0, version=3) is None
        # The next answer on the connection is that of the next request.
        answer = await produce(c, "t", batch(1), acks=1)
        assert (answer.error_code, answer.base_offset) == (0, 3)


async def test_invalid_acks_checks_partitions_first(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        request = produce_request("t", batch(), acks=2)
        request.topic_data[0].partition_data.append(
            ProduceRequest.PartitionProduceData(index=5, records=batch())
        )
        answer = await c.send(request, 11)
        assert [(p.index, p.error_code) for p in answer.responses[0].partition_responses] == [
            (0, ErrorCode.INVALID_REQUIRED_ACKS),
            (5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
        ]
        assert b.broker.partition_log("t", 0).log_end_offset == 0


@pytest.mark.parametrize("version", [3, 4, 5, 7, 8, 9, 11])
async def test_produce_is_answered_at_each_version(tmp_path, version):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        await produce(c, "t", batch(), version=version)
        answer = await produce(c, "t", batch(), version=version)
        assert (answer.error_code, answer.base_offset) == (0, 1)
        # The log start offset is answered from v5; the field's default before.
        assert answer.log_start_offset == (0 if version >= 5 else -1)


async def test_produce_v2_closes_the_connection(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        with pytest.raises(ConnectionClosed):
            await produce(c, "t", batch(), version=2)


# -- Fetch --------------------------------------------------------------------------------------


async def test_fetch_returns_whole_batches_from_the_offset_asked(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        for n in (2, 3):
            await produce(c, "t", batch(n))
        part = await fetch(c, "t", 3)
        # From inside the second batch: that whole batch comes back.
        assert records_of(part.records) == [(2, b"v0"), (3, b"v1"), (4, b"v2")]
        assert (part.high_watermark, part.last_stable_offset, part.log_start_offset) == (5, 5, 0)
        assert part.aborted_transactions is None  # read_uncommitted
        at_end = await fetch(c, "t", 5)
        assert (at_end.error_code, bytes(at_end.records)) == (0, b"")
        past = await fetch(c, "t", 6)
        assert (past.error_code, past.high_watermark, past.log_start_offset) == (
            ErrorCode.OFFSET_OUT_OF_RANGE,
            -1,
            -1,
        )


async def test_fetch_byte_limits_keep_whole_batches_and_the_first_one_always(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        for p in (0, 1):
            for _ in range(3):
                await produce(c, "t", batch(5), p)
        size = len(batch(5))
        request = FetchRequest(
            max_wait_ms=0,
            min_bytes=1,
            max_bytes=size + 10,
            topics=[
                FetchRequest.FetchTopic(
                    topic="t",
                    partitions=[
                        FetchRequest.FetchPartition(
                            partition=p, fetch_offset=0, partition_max_bytes=size // 2
                        )
                        for p in (0, 1)
                    ],
                )
            ],
        )
        answer = await c.send(request, 12)
        parts = answer.responses[0].partitions
        # Partition 0 is first and larger than both limits: one whole batch. Nothing is left
        # of max_bytes for partition 1.
        assert [len(p.records) for p in parts] == [size, 0]
        request.max_bytes, request.topics[0].partitions[0].partition_max_bytes = MiB, 2 * size + 1
        parts = (await c.send(request, 12)).responses[0].partitions
        # Only the first partition with data gets a batch over its partition_max_bytes.
        assert [len(p.records) for p in parts] == [2 * size, 0]
        request.topics[0].partitions[1].partition_max_bytes = size
        parts = (await c.send(request, 12)).responses[0].partitions
        assert [len(p.records) for p in parts] == [2 * size, size]


async def test_fetch_refusals_have_no_offsets(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        request = FetchRequest(
            max_wait_ms=0,
            topics=[
                FetchRequest.FetchTopic(
                    topic=name,
                    partitions=[FetchRequest.FetchPartition(partition=p, fetch_offset=0)],
                )
                for name, p in (("missing", 0), ("t", 4), ("t", 0))
            ],
        )
        answer = await c.send(request, 12)
        # The partitions read first, then those refused before reading.
        got = [
            (t.topic, p.partition_index, p.error_code, p.high_watermark)
            for t in answer.responses
            for p in t.partitions
        ]
        assert got == [
            ("t", 0, 0, 0),
            ("missing", 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1),
            ("t", 4, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1),
        ]


async def test_fetch_by_topic_id_from_v13(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        await produce(c, "t", batch(2))
        topic_id = b.broker.metadata.get("t").topic_id
        known = await c.send(fetch_request("", 0, topic_id=topic_id), 13)
        assert known.responses[0].topic_id == topic_id
        assert records_of(known.responses[0].partitions[0].records) == [(0, b"v0"), (1, b"v1")]
        unknown_id = uuid.uuid4()
        unknown = await c.send(fetch_request("", 0, topic_id=unknown_id), 17)
        entry = unknown.responses[0]
        assert (entry.topic_id, entry.partitions[0].error_code) == (
            unknown_id,
            ErrorCode.UNKNOWN_TOPIC_ID,
        )


async def test_fetch_leader_epoch_checks(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        # A new leader epoch, as an election would start.
        epoch = b.broker.metadata.bump_leader_epoch("t", 0)
        b.broker.partition_log("t", 0).assign_leader_epoch(epoch)
        ok = await fetch(c, "t", 0, current_leader_epoch=epoch)
        assert ok.error_code == 0
        older = await fetch(c, "t", 0, current_leader_epoch=epoch - 1)
        assert (older.error_code, older.high_watermark) == (ErrorCode.FENCED_LEADER_EPOCH, -1)
        assert older.aborted_transactions is None  # refused by the read: a null list
        newer = await fetch(c, "t", 0, current_leader_epoch=epoch + 1)
        assert newer.error_code == ErrorCode.UNKNOWN_LEADER_EPOCH
        fenced = await list_offset(c, "t", -1, current_leader_epoch=epoch - 1)
        assert fenced.error_code == ErrorCode.FENCED_LEADER_EPOCH
        assert (await list_offset(c, "t", -1)).leader_epoch == epoch


async def test_fetch_unknown_isolation_level_fails_the_whole_request(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        answer = await c.send(fetch_request("t", 0, isolation_level=2), 12)
        assert answer.error_code == ErrorCode.UNKNOWN_SERVER_ERROR
        assert [p.error_code for p in answer.responses[0].partitions] == [
            ErrorCode.UNKNOWN_SERVER_ERROR
        ]
        # From v13 the top-level error alone.
        topic_id = b.broker.metadata.get("t").topic_id
        answer = await c.send(fetch_request("", 0, topic_id=topic_id, isolation_level=2), 13)
        assert (answer.error_code, answer.responses) == (ErrorCode.UNKNOWN_SERVER_ERROR, [])


async def test_fetch_sessions_send_only_what_changed(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t", 2)
        await produce(c, "t", batch(1), 0)
        full = fetch_request("t", 0, session_epoch=0)
        full.topics[0].partitions.append(FetchRequest.FetchPartition(partition=1, fetch_offset=0))
        first = await c.send(full, 12)
        session = first.session_id
        assert session > 0 and len(first.responses[0].partitions) == 2
        assert b.broker.statistics()["fetch_sessions"]["sessions"] == 1
        # The position moves past the record read; then nothing is new: nothing is listed.
        moved = fetch_request("t", 1, session_id=session, session_epoch=1)
        assert (await c.send(moved, 12)).responses == []
        quiet = FetchRequest(max_wait_ms=0, session_id=session, session_epoch=2, topics=[])
        assert (await c.send(quiet, 12)).responses == []
        await produce(c, "t", batch(1), 1)
        quiet.session_epoch = 3
        news = await c.send(quiet, 12)
        assert [(p.partition_index, p.high_watermark) for p in news.responses[0].partitions] == [
            (1, 1)
        ]
        quiet.session_epoch = 7
        stale = await c.send(quiet, 12)
        assert (stale.error_code, stale.session_id) == (ErrorCode.INVALID_FETCH_SESSION_EPOCH, 0)
        close = FetchRequest(max_wait_ms=0, session_id=session, session_epoch=-1, topics=[])
        assert (await c.send(close, 12)).error_code == 0
        quiet.session_epoch = 4
        gone = await c.send(quiet, 12)
        assert gone.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND
        assert b.broker.statistics()["fetch_sessions"]["sessions"] == 0


async def test_fetch_waits_for_min_bytes_until_max_wait(tmp_path, mock_clock):
    async with in_process_broker(tmp_path) as b, b.connect() as c, b.connect() as producer:
        await create_topic(c, "t")
        size = len(batch(1))
        answers: list = []

        async def ask() -> None:
            request = fetch_request("t", 0, max_wait_ms=5000, min_bytes=2 * size + 1)
            answers.append(await c.send(request, 12))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask)
            for _ in range(2):
                await wait_until(lambda: b.broker.statistics()["fetch_waiters"] == 1)
                await produce(producer, "t", batch(1))
            # Two appends woke it, but min_bytes is not met: it waits on.
            await wait_until(lambda: b.broker.statistics()["fetch_waiters"] == 1)
            assert answers == []
            mock_clock.jump(5)
        assert len(answers[0].responses[0].partitions[0].records) == 2 * size


# -- ListOffsets --------------------------------------------------------------------------------


async def test_list_offsets_special_and_plain_timestamps(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        base = now_ms() - 10_000
        for i, ts in enumerate((base, base + 3000, base + 1000)):
            await produce(c, "t", batch(1, timestamp=ts))
            assert b.broker.partition_log("t", 0).log_end_offset == i + 1

        async def offset(ts: int, version: int = 10) -> tuple[int, int, int, int]:
            p = await list_offset(c, "t", ts, version=version)
            return p.error_code, p.offset, p.timestamp, p.leader_epoch

        assert await offset(-1) == (0, 3, -1, 0)
        assert await offset(-2) == (0, 0, -1, 0)
        assert await offset(-4) == (0, 0, -1, 0)
        assert await offset(-5) == (0, -1, -1, -1)  # nothing is tiered
        assert await offset(-3) == (0, 1, base + 3000, 0)
        assert await offset(base + 500) == (0, 1, base + 3000, 0)
        assert await offset(base + 3001) == (0, -1, -1, -1)
        assert await offset(-3, 6) == (ErrorCode.UNSUPPORTED_VERSION, -1, -1, -1)
        assert (await offset(-4, 7))[0] == ErrorCode.UNSUPPORTED_VERSION
        assert (await offset(-5, 8))[0] == ErrorCode.UNSUPPORTED_VERSION


async def test_list_offsets_latest_is_the_last_stable_offset_under_read_committed(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        await produce(c, "t", batch(2))
        log = b.broker.partition_log("t", 0)
        assert (await list_offset(c, "t", -1, isolation_level=1)).offset == 2
        assert log.last_stable_offset == log.high_watermark == 2


async def test_list_offsets_refusals(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        unknown = await list_offset(c, "missing", -1)
        assert (unknown.error_code, unknown.offset) == (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1)
        fenced = await list_offset(c, "t", -1, current_leader_epoch=1)
        assert fenced.error_code == ErrorCode.UNKNOWN_LEADER_EPOCH
        bad_level = await list_offset(c, "t", -1, isolation_level=3)
        assert bad_level.error_code == ErrorCode.UNKNOWN_SERVER_ERROR
        twice = ListOffsetsRequest(
            replica_id=-1,
            topics=[
                ListOffsetsRequest.ListOffsetsTopic(
                    name="t",
                    partitions=[
                        ListOffsetsRequest.ListOffsetsPartition(partition_index=0, timestamp=-1)
                    ],
                )
            ]
            * 2,
        )
        answer = await c.send(twice, 10)
        assert [
            (t.name, [(p.partition_index, p.error_code) for p in t.partitions])
            for t in answer.topics
        ] == [("t", [(0, ErrorCode.INVALID_REQUEST)])]


# -- OffsetForLeaderEpoch -----------------------------------------------------------------------


async def test_offset_for_leader_epoch_as_kafka_answers(tmp_path):
    async with in_process_broker(tmp_path) as b, b.connect() as c:
        await create_topic(c, "t")
        await produce(c, "t", batch(3))

        async def ask(epoch: int, current: int = -1, topic: str = "t") -> tuple[int, int, int]:
            request = OffsetForLeaderEpochRequest(
                replica_id=-1,
                topics=[
                    OffsetForLeaderEpochRequest.OffsetForLeaderTopic(
                        topic=topic,
                        partitions=[
                            OffsetForLeaderEpochRequest.OffsetForLeaderPartition(
                                partition=0, current_leader_epoch=current, leader_epoch=epoch
                            )
                        ],
                    )
                ],
            )
            p = (await c.send(request, 4)).topics[0].partitions[0]
            return p.error_code, p.leader_epoch, p.end_offset

        # What Apache Kafka 4.4 answers for a fresh topic with three records.
        assert await ask(0) == (0, 0, 3)
        assert await ask(0, current=0) == (0, 0, 3)
        assert await ask(5) == (0, -1, -1)
        assert await ask(-1) == (0, -1, -1)
        assert await ask(0, current=3) == (ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1)
        assert await ask(0, topic="missing") == (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1)
