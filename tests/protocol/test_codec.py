"""Generated-codec details: defaults, tagged fields, zero-copy records, malformed input."""

from __future__ import annotations

import uuid

import pytest

from kpy.protocol.messages.fetch import FetchRequest, FetchResponse
from kpy.protocol.messages.metadata import MetadataRequest, MetadataResponse
from kpy.protocol.messages.produce import ProduceRequest, ProduceResponse
from kpy.protocol.primitives import FileRegion, ProtocolError, UnsupportedVersion


class FakeFileRecords:
    """What storage hands to a fetch response: a length and chunks of file regions."""

    def __init__(self, *regions: FileRegion) -> None:
        self.regions = regions

    def __len__(self) -> int:
        return sum(len(r) for r in self.regions)

    def chunks(self):
        return iter(self.regions)


def fetch_response(records) -> FetchResponse:
    return FetchResponse(
        responses=[
            FetchResponse.FetchableTopicResponse(
                topic="t",
                topic_id=uuid.UUID(int=12345),
                partitions=[FetchResponse.PartitionData(partition_index=3, records=records)],
            )
        ]
    )


def test_schema_defaults():
    assert FetchRequest().replica_id == -1
    assert FetchRequest().max_bytes == 0x7FFFFFFF
    assert FetchRequest().session_epoch == -1
    assert ProduceRequest().transactional_id is None  # "default": "null"
    assert MetadataRequest().topics == []  # nullable only from v1: not None
    assert MetadataRequest().allow_auto_topic_creation is True
    assert FetchResponse.FetchableTopicResponse().topic_id == uuid.UUID(int=0)
    assert FetchResponse.PartitionData().records is None
    assert FetchResponse.PartitionData().preferred_read_replica == -1
    # Fresh mutable defaults: no instance shares a list or a struct with another.
    a, b = ProduceResponse.PartitionProduceResponse(), ProduceResponse.PartitionProduceResponse()
    assert a.record_errors is not b.record_errors
    assert a.current_leader is not b.current_leader
    assert a.current_leader == ProduceResponse.LeaderIdAndEpoch(leader_id=-1, leader_epoch=-1)


def test_nested_classes_are_attached_to_their_message():
    assert ProduceRequest.TopicProduceData.__name__ == "ProduceRequest_TopicProduceData"
    assert FetchResponse.PartitionData.__name__ == "FetchResponse_PartitionData"
    assert (
        MetadataResponse.MetadataResponseTopic.__name__ == "MetadataResponse_MetadataResponseTopic"
    )
    assert ProduceRequest.API_KEY == 0 and FetchResponse.API_KEY == 1


def test_records_decode_zero_copy_and_null():
    batch = bytes(range(256)) * 4096
    req = ProduceRequest(
        acks=-1,
        topic_data=[
            ProduceRequest.TopicProduceData(
                name="t",
                partition_data=[
                    ProduceRequest.PartitionProduceData(index=0, records=batch),
                    ProduceRequest.PartitionProduceData(index=1, records=None),
                ],
            )
        ],
    )
    for version in (3, 8, 9, 11):
        wire = bytearray(req.encode(version))
        parts = ProduceRequest.decode(wire, version).topic_data[0].partition_data
        assert isinstance(parts[0].records, memoryview) and parts[0].records.obj is wire
        assert parts[0].records == batch
        assert parts[1].records is None


def test_large_records_are_chunks_not_copies():
    batch = bytearray(1 << 20)
    for version in (4, 11, 12, 16):
        chunks: list = []
        fetch_response(batch).encode_into(chunks, version)
        assert sum(c is batch for c in chunks) == 1
        assert b"".join(chunks) == fetch_response(bytes(batch)).encode(version)


def test_file_regions_pass_through_uncopied():
    regions = (FileRegion(7, 0, 5000), FileRegion(7, 5000, 100))
    chunks: list = []
    fetch_response(FakeFileRecords(*regions)).encode_into(chunks, 12)
    assert [c for c in chunks if isinstance(c, FileRegion)] == list(regions)
    with pytest.raises(ValueError, match="file regions"):
        fetch_response(FakeFileRecords(*regions)).encode(12)


def test_small_records_are_inlined():
    chunks: list = []
    fetch_response(b"x" * 100).encode_into(chunks, 12)
    assert len(chunks) == 1


def test_known_tagged_fields_round_trip():
    req = FetchRequest(cluster_id="c1", replica_state=FetchRequest.ReplicaState(replica_id=4))
    for version in (15, 16):
        assert FetchRequest.decode(req.encode(version), version) == req
    req.replica_state = FetchRequest.ReplicaState()
    assert FetchRequest.decode(req.encode(12), 12).cluster_id == "c1"
    resp = ProduceResponse.PartitionProduceResponse(
        current_leader=ProduceResponse.LeaderIdAndEpoch(leader_id=2, leader_epoch=9)
    )
    wrapped = ProduceResponse(
        responses=[ProduceResponse.TopicProduceResponse(name="t", partition_responses=[resp])]
    )
    back = ProduceResponse.decode(wrapped.encode(10), 10)
    assert back.responses[0].partition_responses[0].current_leader.leader_epoch == 9
    # Before v10 the tagged field does not exist; a response silently leaves it out.
    assert ProduceResponse.decode(wrapped.encode(9), 9) != wrapped


def test_tagged_fields_outside_their_versions():
    # ClusterId is ignorable: dropped before v12. ReplicaState is not: refused before v15.
    assert FetchRequest(cluster_id="c1").encode(11) == FetchRequest().encode(11)
    with pytest.raises(UnsupportedVersion):
        FetchRequest(replica_state=FetchRequest.ReplicaState(replica_id=4)).encode(14)


def test_unknown_tagged_fields_are_kept_in_nested_structs():
    topic = MetadataRequest.MetadataRequestTopic(name="a", unknown_tagged_fields=[(9, b"\x01")])
    req = MetadataRequest(topics=[topic], unknown_tagged_fields=[(5, b"zz")])
    back = MetadataRequest.decode(req.encode(12), 12)
    assert back.topics[0].unknown_tagged_fields == [(9, b"\x01")]
    assert back.unknown_tagged_fields == [(5, b"zz")]
    assert back == req


def test_tagged_field_with_wrong_size_is_malformed():
    wire = bytearray(FetchRequest(cluster_id="c1").encode(12))
    # The request ends with the top-level tag section: count 1, tag 0, size 3, "\x03c1".
    assert wire[-5:] == b"\x00\x03\x03c1"
    wire[-4] = 4
    with pytest.raises(ProtocolError):
        FetchRequest.decode(bytes(wire) + b"\x00", 12)


@pytest.mark.parametrize("version", [0, 9, 12])
def test_every_truncation_is_a_protocol_error(version):
    resp = MetadataResponse(
        brokers=[MetadataResponse.MetadataResponseBroker(node_id=1, host="h", port=9)],
        topics=[
            MetadataResponse.MetadataResponseTopic(
                name="t",
                partitions=[MetadataResponse.MetadataResponsePartition(replica_nodes=[1, 2])],
            )
        ],
    )
    wire = resp.encode(version)
    for cut in range(len(wire)):
        with pytest.raises(ProtocolError):
            MetadataResponse.decode(wire[:cut], version)


def test_null_where_not_nullable_and_absurd_lengths_are_protocol_errors():
    # MetadataRequest v0: topics is not nullable.
    with pytest.raises(ProtocolError):
        MetadataRequest.decode(b"\xff\xff\xff\xff", 0)
    with pytest.raises(ProtocolError, match="overruns"):
        MetadataRequest.decode(b"\x7f\xff\xff\xff", 1)
    # A topic name claiming more bytes than there are.
    with pytest.raises(ProtocolError):
        MetadataRequest.decode(b"\x00\x00\x00\x01\x00\x09ab", 1)
    with pytest.raises(ProtocolError, match="no version"):
        MetadataRequest.decode(b"", 99)


def test_invalid_utf8_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        MetadataRequest.decode(b"\x00\x00\x00\x01\x00\x02\xff\xfe", 1)


def test_encoding_a_bad_value_names_the_message():
    with pytest.raises(ValueError, match="MetadataRequest"):
        MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=None)]).encode(1)
    with pytest.raises(ValueError, match="FetchRequest"):
        FetchRequest(max_wait_ms=2**40).encode(4)
    with pytest.raises(UnsupportedVersion):
        FetchRequest().encode(99)
