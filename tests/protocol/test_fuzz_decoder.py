"""Hostile input to the request decoder: anything a client sends either decodes or raises
ProtocolError, never another exception (which would be a crash of that connection's task)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpy.protocol import api_keys, framing
from kpy.protocol.primitives import ProtocolError

BROKER_APIS = sorted(
    k
    for k, info in api_keys.API_KEYS.items()
    if "broker" in info.listeners and info.schema_max >= info.schema_min
)


def decode_or_protocol_error(frame: bytes) -> None:
    try:
        framing.decode_request(memoryview(frame))
    except ProtocolError:
        pass


SCALE = int(os.environ.get("KPY_FUZZ_SCALE", "1"))  # `make fuzz` runs a hundred times more


@settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200))
def test_random_frames(frame):
    decode_or_protocol_error(frame)


@pytest.mark.parametrize("key", BROKER_APIS)
@settings(max_examples=40 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_valid_requests(key, data):
    """A valid request with bytes flipped, cut or appended still never raises anything else."""
    info = api_keys.API_KEYS[key]
    version = data.draw(st.integers(info.schema_min, info.schema_max))
    frame = bytearray(framing.encode_request(key, version, 7, "fuzz", info.request_class())[4:])
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "append", "set"]))
        if op == "flip" and frame:
            i = data.draw(st.integers(0, len(frame) - 1))
            frame[i] ^= data.draw(st.integers(1, 255))
        elif op == "cut" and frame:
            del frame[data.draw(st.integers(0, len(frame) - 1)) :]
        elif op == "append":
            frame += data.draw(st.binary(max_size=16))
        elif op == "set" and len(frame) > 8:
            i = data.draw(st.integers(8, len(frame) - 1))
            frame[i] = data.draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF]))
    decode_or_protocol_error(bytes(frame))
