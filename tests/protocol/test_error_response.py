"""Every request's generated ``error_response(version, code)``: a response of that API that
round-trips at every version, carries the code in every error field it has, and answers the
parts of the request as Kafka's getErrorResponse does (the shapes below were read from
Kafka 4.4's request classes)."""

from __future__ import annotations

import sys
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpy.protocol import api_keys
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnRequest as AddParts
from kpy.protocol.messages.delete_topics import DeleteTopicsRequest
from kpy.protocol.messages.describe_groups import DescribeGroupsRequest
from kpy.protocol.messages.elect_leaders import ElectLeadersRequest
from kpy.protocol.messages.fetch import FetchRequest
from kpy.protocol.messages.find_coordinator import FindCoordinatorRequest
from kpy.protocol.messages.join_group import JoinGroupRequest
from kpy.protocol.messages.leave_group import LeaveGroupRequest
from kpy.protocol.messages.list_offsets import ListOffsetsRequest
from kpy.protocol.messages.metadata import MetadataRequest
from kpy.protocol.messages.offset_fetch import OffsetFetchRequest
from kpy.protocol.messages.produce import ProduceRequest
from tests.protocol.strategies import message
from tests.protocol.test_roundtrip import check_round_trip

UNKNOWN = ErrorCode.UNKNOWN_SERVER_ERROR
ALL_APIS = sorted(api_keys.API_KEYS)


def _on_wire(fields_row, version: int, flexible: bool) -> bool:
    _attr, _type, versions, _nullable, tag, tagged, _struct = fields_row
    if tag is not None:
        return flexible and tagged[0] <= version <= tagged[1]
    return versions[0] <= version <= versions[1]


def error_codes(obj, version: int, flexible: bool) -> list[int]:
    """Every error code a response carries on the wire at ``version``, depth first."""
    module = sys.modules[type(obj).__module__]
    out = []
    for row in obj.FIELDS:
        attr, ftype, _v, _n, tag, _t, struct_name = row
        if not _on_wire(row, version, flexible):
            continue
        value = getattr(obj, attr)
        if ftype == "int16" and tag is None and attr.endswith("error_code"):
            out.append(value)
        elif struct_name is not None and value is not None:
            items = value if ftype.startswith("[]") else [value]
            for item in items:
                assert type(item) is getattr(module, struct_name)
                out += error_codes(item, version, flexible)
    return out


@pytest.mark.timeout(90)
@pytest.mark.parametrize("key", ALL_APIS)
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_error_response_round_trips_with_the_code_everywhere(key, data):
    info = api_keys.API_KEYS[key]
    lo, hi = info.request_class.VALID_VERSIONS
    for version in range(lo, hi + 1):
        flexible = info.is_flexible(version)
        request = data.draw(message(info.request_class, version, flexible), label=f"v{version}")
        code = data.draw(st.sampled_from([UNKNOWN, ErrorCode.NOT_COORDINATOR, 87]))
        response = request.error_response(version, code)
        assert type(response) is info.response_class
        check_round_trip(info.response_class, version, response)
        codes = error_codes(response, version, flexible)
        assert set(codes) <= {code}, f"{info.name} v{version}: {codes}"


def _silent_versions(key: int) -> list[int]:
    """The versions of an API whose default request's error response carries no code at all
    (nothing to carry it, as in Kafka)."""
    info = api_keys.API_KEYS[key]
    lo, hi = info.request_class.VALID_VERSIONS
    return [
        v
        for v in range(lo, hi + 1)
        if not error_codes(info.request_class().error_response(v, UNKNOWN), v, info.is_flexible(v))
    ]


@pytest.mark.parametrize(
    ("key", "silent"),
    [
        (0, range(0, 12)),  # Produce: a code per partition, none asked here
        (1, range(0, 7)),  # Fetch before the top-level error code (v7), no partition asked
        (35, range(0, 3)),  # DescribeLogDirs before its top-level error code (v3)
    ],
)
def test_only_requests_without_parts_get_no_code(key, silent):
    assert _silent_versions(key) == list(silent)


def test_list_offsets_mirrors_topics_and_partitions_with_no_offsets():
    t = ListOffsetsRequest.ListOffsetsTopic
    p = ListOffsetsRequest.ListOffsetsPartition
    req = ListOffsetsRequest(
        topics=[
            t(name="a", partitions=[p(partition_index=2, timestamp=77), p(partition_index=0)]),
            t(name="b", partitions=[]),
        ]
    )
    resp = req.error_response(10, UNKNOWN)
    assert [
        (x.name, [(q.partition_index, q.error_code) for q in x.partitions]) for x in resp.topics
    ] == [
        ("a", [(2, UNKNOWN), (0, UNKNOWN)]),
        ("b", []),
    ]
    # Kafka leaves offset and timestamp at -1; the asked timestamp is not echoed.
    assert {(q.offset, q.timestamp) for q in resp.topics[0].partitions} == {(-1, -1)}


def test_produce_answers_every_partition_without_offsets():
    t = ProduceRequest.TopicProduceData
    p = ProduceRequest.PartitionProduceData
    req = ProduceRequest(topic_data=[t(name="t", partition_data=[p(index=3), p(index=1)])])
    resp = req.error_response(11, UNKNOWN)
    parts = resp.responses[0].partition_responses
    assert resp.responses[0].name == "t"
    assert [
        (q.index, q.error_code, q.base_offset, q.log_append_time_ms, q.log_start_offset)
        for q in parts
    ] == [(3, UNKNOWN, -1, -1, -1), (1, UNKNOWN, -1, -1, -1)]
    assert parts[0].error_message is None


def test_fetch_lists_partitions_before_v13_and_echoes_the_session():
    t = FetchRequest.FetchTopic
    p = FetchRequest.FetchPartition
    req = FetchRequest(
        session_id=5,
        topics=[t(topic="t", topic_id=uuid.UUID(int=9), partitions=[p(partition=4)])],
    )
    old = req.error_response(12, UNKNOWN)
    assert (old.error_code, old.session_id) == (UNKNOWN, 5)
    part = old.responses[0].partitions[0]
    assert (old.responses[0].topic, part.partition_index, part.error_code) == ("t", 4, UNKNOWN)
    assert (part.high_watermark, part.last_stable_offset, part.log_start_offset) == (-1, -1, -1)
    assert (part.records, part.aborted_transactions) == (b"", [])
    new = req.error_response(13, UNKNOWN)
    assert (new.error_code, new.session_id, new.responses) == (UNKNOWN, 5, [])


def test_metadata_answers_a_null_name_as_empty():
    t = MetadataRequest.MetadataRequestTopic
    req = MetadataRequest(topics=[t(name=None, topic_id=uuid.UUID(int=1)), t(name="x")])
    resp = req.error_response(12, UNKNOWN)
    assert [(x.name, x.topic_id.int, x.error_code) for x in resp.topics] == [
        ("", 1, UNKNOWN),
        ("x", 0, UNKNOWN),
    ]
    assert MetadataRequest(topics=None).error_response(12, UNKNOWN).topics == []


def test_offset_fetch_answers_partitions_then_top_level_then_groups():
    t = OffsetFetchRequest.OffsetFetchRequestTopic
    req = OffsetFetchRequest(group_id="g", topics=[t(name="t", partition_indexes=[1, 2])])
    v1 = req.error_response(1, UNKNOWN)
    parts = v1.topics[0].partitions
    assert [(q.partition_index, q.error_code, q.committed_offset, q.metadata) for q in parts] == [
        (1, UNKNOWN, -1, ""),
        (2, UNKNOWN, -1, ""),
    ]
    v7 = req.error_response(7, UNKNOWN)
    assert (v7.error_code, v7.topics) == (UNKNOWN, [])
    g = OffsetFetchRequest.OffsetFetchRequestGroup
    batch = OffsetFetchRequest(groups=[g(group_id="a", topics=None), g(group_id="b")])
    v8 = batch.error_response(8, UNKNOWN)
    assert [(x.group_id, x.error_code, x.topics) for x in v8.groups] == [
        ("a", UNKNOWN, []),
        ("b", UNKNOWN, []),
    ]


def test_find_coordinator_answers_no_node():
    old = FindCoordinatorRequest(key="g").error_response(3, UNKNOWN)
    assert (old.error_code, old.node_id, old.host, old.port) == (UNKNOWN, -1, "", -1)
    new = FindCoordinatorRequest(coordinator_keys=["a", "b"]).error_response(4, UNKNOWN)
    assert [(c.key, c.error_code, c.node_id, c.port) for c in new.coordinators] == [
        ("a", UNKNOWN, -1, -1),
        ("b", UNKNOWN, -1, -1),
    ]


def test_delete_topics_answers_names_before_v6_and_names_or_ids_after():
    assert [
        (r.name, r.error_code)
        for r in DeleteTopicsRequest(topic_names=["a", "b"]).error_response(5, UNKNOWN).responses
    ] == [("a", UNKNOWN), ("b", UNKNOWN)]
    s = DeleteTopicsRequest.DeleteTopicState
    req = DeleteTopicsRequest(topics=[s(name=None, topic_id=uuid.UUID(int=3))])
    (r,) = req.error_response(6, UNKNOWN).responses
    assert (r.name, r.topic_id.int, r.error_code) == (None, 3, UNKNOWN)  # as Kafka: null kept


def test_add_partitions_to_txn_answers_partitions_before_v4_and_top_level_after():
    topic = AddParts.AddPartitionsToTxnTopic(name="t", partitions=[0, 5])
    old = AddParts(v3_and_below_topics=[topic]).error_response(3, UNKNOWN)
    (result,) = old.results_by_topic_v3_and_below
    assert [(p.partition_index, p.partition_error_code) for p in result.results_by_partition] == [
        (0, UNKNOWN),
        (5, UNKNOWN),
    ]
    txn = AddParts.AddPartitionsToTxnTransaction(transactional_id="x", topics=[topic])
    new = AddParts(transactions=[txn]).error_response(4, UNKNOWN)
    assert (new.error_code, new.results_by_transaction) == (UNKNOWN, [])


def test_elect_leaders_sets_both_the_top_level_and_each_partition():
    tp = ElectLeadersRequest.TopicPartitions(topic="t", partitions=[7])
    resp = ElectLeadersRequest(topic_partitions=[tp]).error_response(2, UNKNOWN)
    (part,) = resp.replica_election_results[0].partition_result
    assert (resp.error_code, part.partition_id, part.error_code, part.error_message) == (
        UNKNOWN,
        7,
        UNKNOWN,
        None,
    )
    assert (
        ElectLeadersRequest(topic_partitions=None).error_response(2, UNKNOWN).error_code == UNKNOWN
    )


def test_group_apis_answer_at_the_top_level_or_per_group():
    join = JoinGroupRequest(member_id="m").error_response(6, UNKNOWN)
    assert (join.error_code, join.member_id, join.generation_id, join.protocol_name) == (
        UNKNOWN,
        "",
        -1,
        "",
    )
    assert JoinGroupRequest().error_response(7, UNKNOWN).protocol_name is None
    member = LeaveGroupRequest.MemberIdentity(member_id="m")
    leave = LeaveGroupRequest(members=[member]).error_response(5, UNKNOWN)
    assert (leave.error_code, leave.members) == (UNKNOWN, [])
    described = DescribeGroupsRequest(groups=["a"]).error_response(5, UNKNOWN)
    assert [(g.group_id, g.error_code, g.group_state) for g in described.groups] == [
        ("a", UNKNOWN, "")
    ]
