"""Cross-check against kafka-python 3's own protocol code, two independent encoders:

- kafka.protocol.* (its JSON-schema-driven classes, all versions it knows), and
- kafka.protocol.old.* (hand-written per-version Struct schemas, the older wire code).

For each API, kind and version: a kpy-encoded message decodes with kafka-python, and
kafka-python's re-encoding of it is byte-for-byte what kpy wrote and decodes with kpy to an
equal message. That covers both directions at once: requests kafka-python sends decode in
kpy, and responses kpy sends decode in kafka-python. A few hand-built messages then check
field values, not only bytes. Versions: kpy's oldest, the next, a middle one, and the newest
that kafka-python speaks.
"""

from __future__ import annotations

import importlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpy.protocol import api_keys
from tests.protocol.strategies import message

kafka_protocol = pytest.importorskip("kafka.protocol")

# API key -> (kafka-python module, kafka.protocol.old module) holding <Name>Request/Response.
MODULES = {
    18: ("kafka.protocol.metadata", "api_versions"),
    3: ("kafka.protocol.metadata", "metadata"),
    0: ("kafka.protocol.producer", "produce"),
    1: ("kafka.protocol.consumer", "fetch"),
    2: ("kafka.protocol.consumer", "list_offsets"),
    10: ("kafka.protocol.metadata", "find_coordinator"),
    11: ("kafka.protocol.consumer", "group"),
    14: ("kafka.protocol.consumer", "group"),
    12: ("kafka.protocol.consumer", "group"),
    8: ("kafka.protocol.consumer", "commit"),
    9: ("kafka.protocol.consumer", "commit"),
    19: ("kafka.protocol.admin", "admin"),
}


def new_class(key: int, kind: str):
    module = importlib.import_module(MODULES[key][0])
    return getattr(module, f"{api_keys.API_KEYS[key].name}{kind.capitalize()}")


def old_classes(key: int, kind: str) -> dict:
    module = importlib.import_module(f"kafka.protocol.old.{MODULES[key][1]}")
    versions = getattr(module, f"{api_keys.API_KEYS[key].name}{kind.capitalize()}")
    return {cls.API_VERSION: cls for cls in versions}


def pick_versions(lo: int, hi: int) -> list[int]:
    return sorted({lo, min(lo + 1, hi), (lo + hi) // 2, hi})


def ours(key: int, kind: str):
    info = api_keys.API_KEYS[key]
    return info.request_class if kind == "request" else info.response_class


NEW_CASES = []
OLD_CASES = []
for _key in sorted(MODULES):
    for _kind in ("request", "response"):
        _lo, _hi = ours(_key, _kind).VALID_VERSIONS
        _theirs_hi = min(_hi, new_class(_key, _kind).max_version)
        NEW_CASES += [(_key, _kind, v) for v in pick_versions(_lo, _theirs_hi)]
        _old = sorted(v for v in old_classes(_key, _kind) if _lo <= v <= _hi)
        OLD_CASES += [(_key, _kind, v) for v in pick_versions(_old[0], _old[-1])]


def test_cross_check_covers_the_core_apis():
    assert {key for key, _, _ in NEW_CASES} == set(MODULES)
    assert {key for key, _, _ in OLD_CASES} == set(MODULES)


def draw_value(data, key: int, kind: str, version: int):
    info = api_keys.API_KEYS[key]
    value = data.draw(
        message(ours(key, kind), version, info.is_flexible(version), unknown_tags=False)
    )
    if key == 18 and kind == "response":
        # kafka-python reads an ApiVersions error response as v0 (the KIP-511 fallback).
        value.error_code = 0
    return value


@pytest.mark.parametrize(("key", "kind", "version"), NEW_CASES)
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_kafka_python_schema_classes_agree(key, kind, version, data):
    value = draw_value(data, key, kind, version)
    wire = value.encode(version)
    theirs = new_class(key, kind).decode(wire, version=version)
    theirs._header = None  # a decoded request has no header until one is attached
    again = bytes(theirs.encode(version=version))
    assert again == wire
    assert ours(key, kind).decode(again, version) == value


@pytest.mark.parametrize(("key", "kind", "version"), OLD_CASES)
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_kafka_python_hand_written_classes_agree(key, kind, version, data):
    value = draw_value(data, key, kind, version)
    wire = value.encode(version)
    theirs = old_classes(key, kind)[version].decode(wire)
    again = bytes(theirs.encode())
    assert again == wire
    assert ours(key, kind).decode(again, version) == value


def test_hand_built_kafka_python_requests_decode_with_kpy():
    from kafka.protocol.old.fetch import FetchRequest as OldFetch
    from kafka.protocol.old.metadata import MetadataRequest as OldMetadata
    from kafka.protocol.old.produce import ProduceRequest as OldProduce

    from kpy.protocol.messages.fetch import FetchRequest
    from kpy.protocol.messages.metadata import MetadataRequest
    from kpy.protocol.messages.produce import ProduceRequest

    meta = MetadataRequest.decode(
        OldMetadata[4](topics=["a", "b"], allow_auto_topic_creation=False).encode(), 4
    )
    assert [t.name for t in meta.topics] == ["a", "b"] and meta.allow_auto_topic_creation is False
    assert MetadataRequest.decode(OldMetadata[1](topics=None).encode(), 1).topics is None

    batch = b"\x00" * 61
    wire = OldProduce[7](
        transactional_id=None, required_acks=-1, timeout=1500, topics=[("t", [(2, batch)])]
    ).encode()
    produce = ProduceRequest.decode(wire, 7)
    assert (produce.acks, produce.timeout_ms, produce.transactional_id) == (-1, 1500, None)
    part = produce.topic_data[0].partition_data[0]
    assert (produce.topic_data[0].name, part.index, bytes(part.records)) == ("t", 2, batch)

    fetch_wire = OldFetch[10](
        -1, 500, 1, 1 << 20, 1, 0, 0, [("t", [(0, 0, 42, 0, 1 << 20)])], []
    ).encode()
    fetch = FetchRequest.decode(fetch_wire, 10)
    p = fetch.topics[0].partitions[0]
    assert (fetch.max_wait_ms, fetch.isolation_level, p.fetch_offset) == (500, 1, 42)


def test_hand_built_kpy_responses_decode_with_kafka_python():
    from kafka.protocol.old.api_versions import ApiVersionsResponse as OldApiVersions
    from kafka.protocol.old.produce import ProduceResponse as OldProduce

    from kpy.protocol.messages.api_versions import ApiVersionsResponse
    from kpy.protocol.messages.produce import ProduceResponse

    resp = ApiVersionsResponse(
        api_keys=[ApiVersionsResponse.ApiVersion(api_key=0, min_version=3, max_version=11)]
    )
    theirs = OldApiVersions[3].decode(resp.encode(3))
    assert theirs.error_code == 0 and list(theirs.api_versions[0][:3]) == [0, 3, 11]

    produce = ProduceResponse(
        responses=[
            ProduceResponse.TopicProduceResponse(
                name="t",
                partition_responses=[
                    ProduceResponse.PartitionProduceResponse(index=1, base_offset=99)
                ],
            )
        ]
    )
    decoded = OldProduce[8].decode(produce.encode(8))
    topic, partitions = decoded.topics[0]
    assert topic == "t" and partitions[0][:3] == (1, 0, 99)
