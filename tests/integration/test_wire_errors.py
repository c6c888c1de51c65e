"""Exact error codes for bad requests, checked with raw requests built by kpy.protocol."""

from __future__ import annotations

import struct
import uuid

import pytest

from conformance import raw
from conformance.wire import ConnectionClosed, WireClient
from kpy.protocol import records
from kpy.protocol.error_codes import ErrorCode as E
from kpy.protocol.messages.api_versions import ApiVersionsRequest
from kpy.protocol.messages.create_partitions import CreatePartitionsRequest
from kpy.protocol.messages.delete_groups import DeleteGroupsRequest
from kpy.protocol.messages.delete_records import DeleteRecordsRequest
from kpy.protocol.messages.delete_topics import DeleteTopicsRequest
from kpy.protocol.messages.describe_configs import DescribeConfigsRequest
from kpy.protocol.messages.fetch import FetchRequest
from kpy.protocol.messages.heartbeat import HeartbeatRequest
from kpy.protocol.messages.init_producer_id import InitProducerIdRequest
from kpy.protocol.messages.join_group import JoinGroupRequest
from kpy.protocol.messages.list_offsets import ListOffsetsRequest
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.protocol.messages.produce import ProduceRequest
from kpy.protocol.records import Record


@pytest.fixture
def wire(broker):
    with WireClient(broker.bootstrap) as c:
        yield c


def create(wire, name, partitions=1, configs=None, version=7, **kw):
    request = raw.create_topics_request(name, partitions, configs, timeout_ms=5000, **kw)
    return wire.send(request, version).topics[0]


def produce(wire, topic, data, partition=0, acks=-1, version=9):
    req = raw.produce_request(topic, data, partition, acks=acks, timeout_ms=5000)
    resp = wire.send(req, version, expect_response=acks != 0)
    return None if resp is None else resp.responses[0].partition_responses[0]


batch = raw.batch
_now = raw.now_ms


# -- connection-level ------------------------------------------------------------------------


def test_api_versions_newer_than_supported_gets_v0_error(broker):
    with WireClient(broker.bootstrap) as c:
        # A client from the future: header v2 (client id, empty tag section), unknown body.
        frame = b"\x04some\x021\x00"
        header = struct.pack(">hhih", 18, 99, 7, 3) + b"cli" + b"\x00"
        c.send_raw(struct.pack(">i", len(header) + len(frame)) + header + bytes(frame))
        body = c.recv_frame()
        corr, error = struct.unpack_from(">ih", body)
        assert corr == 7 and error == E.UNSUPPORTED_VERSION
        from kpy.protocol.messages.api_versions import ApiVersionsResponse

        resp = ApiVersionsResponse.decode(body[4:], 0)
        assert any(k.api_key == 18 and k.max_version == 4 for k in resp.api_keys)


def test_api_versions_ranges_and_kip511_software_name(wire):
    resp = wire.send(
        ApiVersionsRequest(client_software_name="kpy-tests", client_software_version="1.0"), 3
    )
    assert resp.error_code == E.NONE
    ranges = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
    assert ranges[0] == (0, 11) and ranges[1] == (4, 17) and ranges[3] == (0, 12)
    bad = wire.send(
        ApiVersionsRequest(client_software_name="bad name!", client_software_version="1"), 3
    )
    assert bad.error_code == E.INVALID_REQUEST


@pytest.mark.parametrize("version", [0, 1, 2])
@pytest.mark.parametrize("acks", [-1, 5])  # 5: refused for its acks, were it answered
def test_produce_listed_from_v0_but_v0_to_v2_close_the_connection(
    broker, wire, topic_name, version, acks
):
    # As Kafka 4 (KAFKA-18659): ApiVersions lists Produce from v0 so that librdkafka before
    # 2.11.1 enables compression, yet a v0-2 request is not answered (and not appended).
    assert create(wire, topic_name).error_code == 0
    for api_versions in (0, 3):
        resp = wire.send(
            ApiVersionsRequest(client_software_name="kpy-tests", client_software_version="1"),
            api_versions,
        )
        assert {k.api_key: k.min_version for k in resp.api_keys}[0] == 0
    with WireClient(broker.bootstrap) as old, pytest.raises(ConnectionClosed):
        produce(old, topic_name, batch(2), acks=acks, version=version)
    assert produce(wire, topic_name, batch(1), version=3).base_offset == 0


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00\x00\x00\x04\xff\xff\xff\xff",  # too short for a header
        struct.pack(">ihhi", 8, 999, 0, 1),  # unknown API key
        struct.pack(">ihhi", 8, 3, 99, 1),  # Metadata v99
        struct.pack(">i", 200 * 1024 * 1024),  # over socket.request.max.bytes
        struct.pack(">i", -5),  # negative size
        struct.pack(">ihhih", 12, 3, 12, 1, 0) + b"\xff\xff",  # truncated body
    ],
)
def test_bad_frames_close_only_that_connection(broker, payload):
    with WireClient(broker.bootstrap) as bystander, WireClient(broker.bootstrap) as bad:
        bad.send_raw(payload)
        assert bad.is_closed()
        assert bystander.send(MetadataRequest(topics=None), 12).brokers  # still served


def test_garbage_after_valid_request(broker):
    with WireClient(broker.bootstrap) as c:
        assert c.send(ApiVersionsRequest(), 0).error_code == 0
        c.send_raw(b"\x00\x00\x00\x10" + b"\xde\xad\xbe\xef" * 4)
        with pytest.raises(ConnectionClosed):
            c.recv_frame()
    with WireClient(broker.bootstrap) as c:
        req = ApiVersionsRequest(client_software_name="kpy-tests", client_software_version="1")
        assert c.send(req, 3).error_code == 0


def test_pipelined_requests_answered_in_order_before_a_bad_frame(wire, topic_name):
    # Produce, fetch and metadata requests sent back to back in one write, then a bad frame:
    # every request is answered, in order, with its own correlation id, and only then is
    # the connection closed.
    from kpy.protocol import framing

    assert create(wire, topic_name, 2).error_code == 0

    def produce_request(partition):
        part = ProduceRequest.PartitionProduceData(index=partition, records=batch(3))
        return ProduceRequest(
            acks=-1,
            timeout_ms=5000,
            topic_data=[ProduceRequest.TopicProduceData(name=topic_name, partition_data=[part])],
        )

    fetch_part = FetchRequest.FetchPartition(
        partition=0, fetch_offset=0, partition_max_bytes=1 << 20
    )
    fetch_req = FetchRequest(
        max_wait_ms=0,
        min_bytes=1,
        max_bytes=1 << 20,
        topics=[FetchRequest.FetchTopic(topic=topic_name, partitions=[fetch_part])],
    )
    sent = []
    data = bytearray()
    for corr in range(1, 41):
        if corr == 20:
            key, req, version = 1, fetch_req, 12
        elif corr == 30:
            key, req, version = 3, MetadataRequest(topics=[]), 12
        else:
            key, req, version = 0, produce_request(corr % 2), 9
        data += framing.encode_request(key, version, corr, "kpy-tests", req)
        sent.append((corr, key, version))
    # Then a frame that starts like a Produce v9 request but ends inside its header.
    wire.send_raw(bytes(data) + b"\x00\x00\x00\x08\x00\x00\x00\x09\x00\x00\x00\x63")
    offsets: dict[int, list[int]] = {0: [], 1: []}
    for corr, key, version in sent:
        got, resp = framing.decode_response(key, version, wire.recv_frame())
        assert got == corr
        if key == 0:
            part = resp.responses[0].partition_responses[0]
            assert part.error_code == 0
            offsets[part.index].append(part.base_offset)
        elif key == 1:
            assert resp.responses[0].partitions[0].error_code == 0
            assert resp.responses[0].partitions[0].high_watermark == 3 * 9
    # 18 produce requests to partition 0 and 20 to partition 1, 3 records each, offsets in
    # request order (the fetch saw the 9 batches sent before it).
    assert offsets == {0: [3 * i for i in range(18)], 1: [3 * i for i in range(20)]}
    with pytest.raises(ConnectionClosed):
        wire.recv_frame()


# -- metadata ------------------------------------------------------------------------------------


def test_metadata_errors(wire, topic_name):
    resp = wire.send(
        MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name=topic_name)],
            allow_auto_topic_creation=False,
        ),
        12,
    )
    assert resp.topics[0].error_code == E.UNKNOWN_TOPIC_OR_PARTITION
    resp = wire.send(
        MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="bad/name")]), 12
    )
    assert resp.topics[0].error_code == E.INVALID_TOPIC_EXCEPTION
    resp = wire.send(
        MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name=None, topic_id=uuid.uuid4())]
        ),
        12,
    )
    assert resp.topics[0].error_code == E.UNKNOWN_TOPIC_ID
    # Auto-creation: answered UNKNOWN_TOPIC_OR_PARTITION, as Kafka 4.4 answers while its
    # controller creates the topic; kpy has made it by then, usable with a stable id.
    ask = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic_name)])
    created = wire.send(ask, 12).topics[0]
    assert (created.error_code, created.partitions) == (E.UNKNOWN_TOPIC_OR_PARTITION, [])
    resp = wire.send(ask, 12)
    t = resp.topics[0]
    assert t.error_code == 0 and t.partitions[0].leader_id == resp.brokers[0].node_id
    assert t.topic_id != uuid.UUID(int=0)
    assert resp.cluster_id and resp.controller_id == resp.brokers[0].node_id
    by_id = wire.send(
        MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name=None, topic_id=t.topic_id)]
        ),
        12,
    )
    assert by_id.topics[0].name == topic_name


@pytest.mark.parametrize("version", range(2, 8))
def test_create_topics_defaults_at_every_version(wire, topic_name, version):
    # Kafka 4.4 reads -1 as num.partitions / default.replication.factor at v2-3 too (kafkajs
    # 2.2.4 sends -1 at v3), not only from v4 where KIP-464 announced it.
    names = [f"{topic_name}-a", f"{topic_name}-b"]
    for name, partitions in zip(names, (-1, 3), strict=True):
        created = create(wire, name, partitions, version=version, replication_factor=-1)
        assert (created.error_code, created.error_message) == (E.NONE, None)
    md = wire.send(
        MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=n) for n in names]), 12
    )
    assert [len(t.partitions) for t in md.topics] == [1, 3]  # num.partitions is 1
    assert {len(p.replica_nodes) for t in md.topics for p in t.partitions} == {1}


def test_internal_topic_flag(wire):
    from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest

    # Like Kafka, __consumer_offsets is created when groups are first used.
    assert wire.send(FindCoordinatorRequest(key="g", key_type=0), 3).error_code == 0
    resp = wire.send(
        MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name="__consumer_offsets")]),
        12,
    )
    assert resp.topics[0].error_code == 0 and resp.topics[0].is_internal


# -- produce ---------------------------------------------------------------------------------------


def test_produce_validation_errors(wire, topic_name):
    assert create(wire, topic_name, 2, {"max.message.bytes": "2000"}).error_code == 0
    ok = produce(wire, topic_name, batch(3))
    assert ok.error_code == 0 and ok.base_offset == 0
    corrupt = batch(1)
    corrupt[-1] ^= 0xFF
    assert produce(wire, topic_name, corrupt).error_code == E.CORRUPT_MESSAGE
    big = records.build_batch([Record(b"k", b"x" * 5000, [])])
    assert produce(wire, topic_name, big).error_code == E.MESSAGE_TOO_LARGE
    assert (
        produce(wire, topic_name, batch(1), partition=7).error_code == E.UNKNOWN_TOPIC_OR_PARTITION
    )
    assert produce(wire, topic_name, batch(1), acks=2).error_code == E.INVALID_REQUIRED_ACKS
    old = batch(1, timestamp=1000)
    assert produce(wire, topic_name, old).error_code == 0  # default before.max.ms is unbounded
    future = batch(1, timestamp=_now() + 7_200_000)
    assert produce(wire, topic_name, future).error_code == E.INVALID_TIMESTAMP
    legacy = batch(1)
    legacy[records.MAGIC_OFFSET] = 1
    assert produce(wire, topic_name, legacy).error_code == E.INVALID_RECORD
    mismatch = batch(2)
    struct.pack_into(">i", mismatch, 57, 5)  # record count that disagrees with lastOffsetDelta
    struct.pack_into(">I", mismatch, 17, records.compute_crc(mismatch, 0, len(mismatch)))
    assert produce(wire, topic_name, mismatch).error_code == E.INVALID_RECORD
    assert produce(wire, topic_name, batch(1) + batch(1)).error_code == E.INVALID_RECORD


def test_produce_errors_are_per_partition(wire, topic_name):
    create(wire, topic_name, 2)
    bad = batch(1)
    bad[-1] ^= 1
    req = ProduceRequest(
        acks=1,
        timeout_ms=5000,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name=topic_name,
                partition_data=[
                    ProduceRequest.PartitionProduceData(index=0, records=batch(2)),
                    ProduceRequest.PartitionProduceData(index=1, records=bad),
                ],
            )
        ],
    )
    parts = wire.send(req, 9).responses[0].partition_responses
    assert [p.error_code for p in parts] == [0, E.CORRUPT_MESSAGE]


def test_keyless_record_on_compacted_topic(wire, topic_name):
    create(wire, topic_name, 1, {"cleanup.policy": "compact"})
    assert produce(wire, topic_name, batch(1, key=None)).error_code == E.INVALID_RECORD
    assert produce(wire, topic_name, batch(1, key=b"k")).error_code == 0


def test_acks_zero_gets_no_response(wire, topic_name):
    create(wire, topic_name)
    assert produce(wire, topic_name, batch(1), acks=0) is None
    # The next response on the connection answers the next request, not the acks=0 one.
    resp = wire.send(ApiVersionsRequest(), 0)
    assert resp.error_code == 0


def test_log_append_time_topic(wire, topic_name):
    create(wire, topic_name, 1, {"message.timestamp.type": "LogAppendTime"})
    res = produce(wire, topic_name, batch(1, timestamp=5))
    assert res.error_code == 0 and res.log_append_time_ms > 1_600_000_000_000


def test_idempotent_sequences(wire, topic_name):
    create(wire, topic_name)
    a = wire.send(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000), 4)
    b = wire.send(InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000), 4)
    assert a.error_code == b.error_code == 0 and a.producer_id != b.producer_id
    pid = a.producer_id
    first = produce(wire, topic_name, batch(2, producer_id=pid, producer_epoch=0, base_sequence=0))
    second = produce(wire, topic_name, batch(2, producer_id=pid, producer_epoch=0, base_sequence=2))
    dup = produce(wire, topic_name, batch(2, producer_id=pid, producer_epoch=0, base_sequence=0))
    assert dup.error_code == 0 and dup.base_offset == first.base_offset
    gap = produce(wire, topic_name, batch(1, producer_id=pid, producer_epoch=0, base_sequence=9))
    assert gap.error_code == E.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert (
        produce(
            wire, topic_name, batch(1, producer_id=pid, producer_epoch=1, base_sequence=0)
        ).error_code
        == 0
    )
    stale = produce(wire, topic_name, batch(1, producer_id=pid, producer_epoch=0, base_sequence=4))
    assert stale.error_code == E.INVALID_PRODUCER_EPOCH
    assert second.base_offset == 2


# -- fetch and offsets ----------------------------------------------------------------------------


def fetch_req(topic, offset, **kw):
    return FetchRequest(
        max_wait_ms=kw.get("max_wait_ms", 0),
        min_bytes=kw.get("min_bytes", 1),
        max_bytes=kw.get("max_bytes", 1 << 20),
        session_id=kw.get("session_id", 0),
        session_epoch=kw.get("session_epoch", -1),
        topics=[
            FetchRequest.FetchTopic(
                topic=topic,
                topic_id=kw.get("topic_id", uuid.UUID(int=0)),
                partitions=[
                    FetchRequest.FetchPartition(
                        partition=p,
                        fetch_offset=offset,
                        partition_max_bytes=kw.get("pmax", 1 << 20),
                    )
                    for p in kw.get("partitions", [0])
                ],
            )
        ],
    )


def test_fetch_errors_and_sessions(wire, topic_name):
    create(wire, topic_name, 2)
    produce(wire, topic_name, batch(3))
    resp = wire.send(fetch_req(topic_name, 10), 12)
    part = resp.responses[0].partitions[0]
    # As Kafka 4.4: a refused read reports no offsets (the client asks ListOffsets).
    assert part.error_code == E.OFFSET_OUT_OF_RANGE and part.high_watermark == -1
    resp = wire.send(fetch_req("no-such-topic-" + topic_name, 0), 12)
    assert resp.responses[0].partitions[0].error_code == E.UNKNOWN_TOPIC_OR_PARTITION
    resp = wire.send(fetch_req("", 0, topic_id=uuid.uuid4()), 13)
    assert resp.responses[0].partitions[0].error_code == E.UNKNOWN_TOPIC_ID
    # A new session: full response, then incremental ones list only changed partitions.
    full = wire.send(fetch_req(topic_name, 0, session_epoch=0, partitions=[0, 1]), 12)
    assert full.session_id > 0
    assert len(full.responses[0].partitions) == 2
    assert len(full.responses[0].partitions[0].records) > 0
    # The client moved partition 0 to its end; nothing changed anywhere, so nothing is listed.
    inc = fetch_req(topic_name, 3, session_id=full.session_id, session_epoch=1, min_bytes=0)
    resp = wire.send(inc, 12)
    assert resp.error_code == 0 and resp.session_id == full.session_id
    assert resp.responses == []
    inc.topics = []
    produce(wire, topic_name, batch(1), partition=1)
    inc.session_epoch = 2
    resp = wire.send(inc, 12)
    changed = [(p.partition_index, p.high_watermark) for t in resp.responses for p in t.partitions]
    assert changed == [(1, 1)]
    inc.session_epoch = 7
    assert wire.send(inc, 12).error_code == E.INVALID_FETCH_SESSION_EPOCH
    missing = FetchRequest(
        max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, session_id=12345, session_epoch=1
    )
    assert wire.send(missing, 12).error_code == E.FETCH_SESSION_ID_NOT_FOUND


def test_fetch_limits_whole_batches(wire, topic_name):
    create(wire, topic_name)
    for _ in range(5):
        produce(wire, topic_name, records.build_batch([Record(b"k", b"x" * 1000, [])]))
    one = len(records.build_batch([Record(b"k", b"x" * 1000, [])]))
    resp = wire.send(fetch_req(topic_name, 0, pmax=one * 2 + 10), 12)
    data = bytes(resp.responses[0].partitions[0].records)
    assert len(data) == 2 * one
    # The first batch comes back even when it is larger than the limits (KIP-74).
    resp = wire.send(fetch_req(topic_name, 0, pmax=10, max_bytes=10), 12)
    assert len(resp.responses[0].partitions[0].records) == one


def test_list_offsets(wire, topic_name):
    create(wire, topic_name)
    base = _now() - 10_000
    for i in range(3):
        produce(wire, topic_name, batch(2, timestamp=base + i * 1000))

    def lookup(ts, version=9):
        req = ListOffsetsRequest(
            replica_id=-1,
            topics=[
                ListOffsetsRequest.ListOffsetsTopic(
                    name=topic_name,
                    partitions=[
                        ListOffsetsRequest.ListOffsetsPartition(partition_index=0, timestamp=ts)
                    ],
                )
            ],
        )
        return wire.send(req, version).topics[0].partitions[0]

    assert lookup(-2).offset == 0
    assert lookup(-1).offset == 6
    assert (lookup(-3).offset, lookup(-3).timestamp) == (4, base + 2000)
    assert lookup(base + 500).offset == 2
    assert lookup(base + 99_999).offset == -1
    assert lookup(-4).offset == 0


# -- admin ------------------------------------------------------------------------------------------


def test_create_topic_errors(wire, topic_name):
    assert create(wire, topic_name, 3).error_code == 0
    assert create(wire, topic_name, 3).error_code == E.TOPIC_ALREADY_EXISTS
    assert (
        create(wire, topic_name + "x", 1, replication_factor=3).error_code
        == E.INVALID_REPLICATION_FACTOR
    )
    assert create(wire, topic_name + "y", 0).error_code == E.INVALID_PARTITIONS
    assert (
        create(wire, topic_name + "z", 1, {"cleanup.policy": "nope"}).error_code == E.INVALID_CONFIG
    )
    assert create(wire, topic_name + "w", 1, {"no.such.config": "1"}).error_code == E.INVALID_CONFIG
    assert create(wire, "bad name", 1).error_code == E.INVALID_TOPIC_EXCEPTION
    assert create(wire, "a" * 250, 1).error_code == E.INVALID_TOPIC_EXCEPTION
    assert create(wire, topic_name.replace("-", "."), 1).error_code in (
        0,
        E.INVALID_TOPIC_EXCEPTION,
    )
    res = create(wire, topic_name + "v", 4, validate_only=True)
    assert res.error_code == 0 and res.num_partitions == 4
    md = wire.send(
        MetadataRequest(
            topics=[MetadataRequest.MetadataRequestTopic(name=topic_name + "v")],
            allow_auto_topic_creation=False,
        ),
        12,
    )
    assert md.topics[0].error_code == E.UNKNOWN_TOPIC_OR_PARTITION


def test_defaults_for_minus_one(wire, topic_name):
    res = create(wire, topic_name, -1, replication_factor=-1)
    assert res.error_code == 0 and res.num_partitions == 1 and res.replication_factor == 1


def test_delete_topics(wire, topic_name):
    res = create(wire, topic_name, 2)
    resp = wire.send(
        DeleteTopicsRequest(topic_names=[topic_name, topic_name + "-missing"], timeout_ms=5000), 5
    )
    assert [r.error_code for r in resp.responses] == [0, E.UNKNOWN_TOPIC_OR_PARTITION]
    res = create(wire, topic_name + "-2", 1)
    resp = wire.send(
        DeleteTopicsRequest(
            topics=[DeleteTopicsRequest.DeleteTopicState(name=None, topic_id=res.topic_id)],
            timeout_ms=5000,
        ),
        6,
    )
    assert resp.responses[0].error_code == 0 and resp.responses[0].name == topic_name + "-2"
    resp = wire.send(
        DeleteTopicsRequest(
            topics=[DeleteTopicsRequest.DeleteTopicState(name=None, topic_id=uuid.uuid4())],
            timeout_ms=5000,
        ),
        6,
    )
    assert resp.responses[0].error_code == E.UNKNOWN_TOPIC_ID


def test_create_partitions_and_delete_records(wire, topic_name):
    create(wire, topic_name, 2)
    req = CreatePartitionsRequest(
        topics=[
            CreatePartitionsRequest.CreatePartitionsTopic(
                name=topic_name, count=1, assignments=None
            )
        ],
        timeout_ms=5000,
    )
    assert wire.send(req, 3).results[0].error_code == E.INVALID_PARTITIONS
    req.topics[0].count = 4
    assert wire.send(req, 3).results[0].error_code == 0
    assert produce(wire, topic_name, batch(5), partition=3).error_code == 0
    dr = DeleteRecordsRequest(
        topics=[
            DeleteRecordsRequest.DeleteRecordsTopic(
                name=topic_name,
                partitions=[
                    DeleteRecordsRequest.DeleteRecordsPartition(partition_index=3, offset=3),
                ],
            )
        ],
        timeout_ms=5000,
    )
    res = wire.send(dr, 2).topics[0].partitions[0]
    assert res.error_code == 0 and res.low_watermark == 3
    dr.topics[0].partitions[0].offset = 99
    assert wire.send(dr, 2).topics[0].partitions[0].error_code == E.OFFSET_OUT_OF_RANGE
    resp = wire.send(fetch_req(topic_name, 1, partitions=[3]), 12)
    assert resp.responses[0].partitions[0].error_code == E.OFFSET_OUT_OF_RANGE


def test_describe_configs(wire, topic_name):
    create(wire, topic_name, 1, {"retention.ms": "1234"})
    req = DescribeConfigsRequest(
        resources=[
            DescribeConfigsRequest.DescribeConfigsResource(
                resource_type=2, resource_name=topic_name, configuration_keys=None
            )
        ],
        include_synonyms=True,
    )
    res = wire.send(req, 4).results[0]
    configs = {c.name: c for c in res.configs}
    assert configs["retention.ms"].value == "1234" and configs["retention.ms"].config_source == 1
    assert configs["segment.bytes"].config_source in (4, 5)
    req.resources[0].resource_name = topic_name + "-missing"
    assert wire.send(req, 4).results[0].error_code == E.UNKNOWN_TOPIC_OR_PARTITION


# -- groups -------------------------------------------------------------------------------------------


def join(wire, group, member_id="", session=10000, version=9):
    req = JoinGroupRequest(
        group_id=group,
        session_timeout_ms=session,
        rebalance_timeout_ms=10000,
        member_id=member_id,
        protocol_type="consumer",
        protocols=[
            JoinGroupRequest.JoinGroupRequestProtocol(
                name="range", metadata=b"\x00\x00\x00\x00\x00\x00"
            )
        ],
    )
    return wire.send(req, version)


def test_group_error_paths(wire, topic_name):
    group = "g-" + topic_name
    first = join(wire, group)
    assert first.error_code == E.MEMBER_ID_REQUIRED and first.member_id
    assert join(wire, group, session=10).error_code == E.INVALID_SESSION_TIMEOUT
    assert join(wire, group, member_id="nobody").error_code == E.UNKNOWN_MEMBER_ID
    joined = join(wire, group, member_id=first.member_id)
    assert joined.error_code == 0 and joined.leader == first.member_id and joined.generation_id == 1
    hb = wire.send(HeartbeatRequest(group_id=group, generation_id=1, member_id="nobody"), 4)
    assert hb.error_code == E.UNKNOWN_MEMBER_ID
    hb = wire.send(HeartbeatRequest(group_id=group, generation_id=5, member_id=first.member_id), 4)
    assert hb.error_code == E.ILLEGAL_GENERATION
    resp = wire.send(DeleteGroupsRequest(groups_names=[group, group + "-missing"]), 2)
    assert [r.error_code for r in resp.results] == [E.NON_EMPTY_GROUP, E.GROUP_ID_NOT_FOUND]
