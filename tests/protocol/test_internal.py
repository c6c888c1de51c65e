"""Internal-topic record formats (__consumer_offsets, __transaction_state) round-trip."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpy.protocol import internal
from tests.protocol.strategies import message

TOP_LEVEL = sorted(
    name
    for name, obj in vars(internal).items()
    if isinstance(obj, type) and issubclass(obj, internal._Base) and "_" not in name
)


def test_expected_record_types_exist():
    for name in ("OffsetCommitKey", "OffsetCommitValue", "GroupMetadataKey", "GroupMetadataValue"):
        assert name in TOP_LEVEL
    assert {"TransactionLogKey", "TransactionLogValue"} <= set(TOP_LEVEL)
    assert internal.GroupMetadataValue.MemberMetadata is internal.GroupMetadataValue_MemberMetadata


@pytest.mark.parametrize("name", TOP_LEVEL)
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_round_trip_every_version(name, data):
    cls = getattr(internal, name)
    lo, hi = cls.VALID_VERSIONS
    flex = cls.FLEXIBLE_VERSIONS
    for version in range(lo, hi + 1):
        flexible = flex is not None and flex[0] <= version <= flex[1]
        value = data.draw(message(cls, version, flexible), label=f"v{version}")
        wire = value.encode(version)
        decoded, end = cls.read(memoryview(wire), 0, version)
        assert end == len(wire) and decoded == value


def test_offset_commit_value_as_stored():
    # A record value is an int16 version, then the struct at that version.
    value = internal.OffsetCommitValue(offset=42, leader_epoch=3, metadata="m", commit_timestamp=7)
    record = struct.pack(">h", 3) + value.encode(3)
    version = struct.unpack_from(">h", record)[0]
    assert internal.OffsetCommitValue.decode(memoryview(record)[2:], version) == value
