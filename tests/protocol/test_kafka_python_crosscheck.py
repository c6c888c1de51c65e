"""Cross-check against kafka-python's own protocol classes (an independent encoder).

For each API and version: a kpy-encoded message decodes with kafka-python, and
kafka-python's re-encoding of it is byte-for-byte what kpy wrote and decodes with kpy to an
equal message. That covers both directions: requests kafka-python sends decode in kpy, and
responses kpy sends decode in kafka-python.
"""

from __future__ import annotations

import importlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpy.protocol import api_keys
from tests.protocol.strategies import message

kafka_protocol = pytest.importorskip("kafka.protocol")

# API key -> kafka-python module holding <Name>Request / <Name>Response.
KAFKA_PYTHON = {
    18: "kafka.protocol.metadata",
    3: "kafka.protocol.metadata",
    0: "kafka.protocol.producer",
    1: "kafka.protocol.consumer",
    2: "kafka.protocol.consumer",
    10: "kafka.protocol.metadata",
    11: "kafka.protocol.consumer",
    14: "kafka.protocol.consumer",
    12: "kafka.protocol.consumer",
    8: "kafka.protocol.consumer",
    9: "kafka.protocol.consumer",
    19: "kafka.protocol.admin",
}


def kafka_python_class(key: int, kind: str):
    info = api_keys.API_KEYS[key]
    module = importlib.import_module(KAFKA_PYTHON[key])
    return getattr(module, f"{info.name}{kind.capitalize()}", None)


CASES = [
    (key, kind)
    for key in sorted(KAFKA_PYTHON)
    for kind in ("request", "response")
    if kafka_python_class(key, kind) is not None
]


def test_cross_check_covers_the_core_apis():
    assert {key for key, _ in CASES} == set(KAFKA_PYTHON)


@pytest.mark.parametrize(("key", "kind"), CASES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_kpy_and_kafka_python_agree(key, kind, data):
    info = api_keys.API_KEYS[key]
    ours = info.request_class if kind == "request" else info.response_class
    theirs = kafka_python_class(key, kind)
    hi = min(ours.VALID_VERSIONS[1], theirs.max_version)
    version = data.draw(st.sampled_from(sorted({0, 1, hi // 2, hi - 1, hi} & set(range(hi + 1)))))
    value = data.draw(message(ours, version, info.is_flexible(version), unknown_tags=False))
    if key == 18 and kind == "response":
        # kafka-python reads an ApiVersions error response as v0 (the KIP-511 fallback).
        value.error_code = 0
    wire = value.encode(version)
    decoded = theirs.decode(wire, version=version)
    decoded._header = None  # a decoded request has no header until one is attached
    again = bytes(decoded.encode(version=version))
    assert again == wire
    assert ours.decode(again, version) == value
