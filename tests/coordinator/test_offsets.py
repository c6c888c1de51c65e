"""Where a group's or transactional id's records go: Kafka's Utils.abs(hashCode) % partitions
(the expected values are what Java's String.hashCode answers, asked once)."""

from __future__ import annotations

import pytest

from kpy.coordinator.offsets import java_abs, java_string_hash, partition_for

MIN_INT = -(2**31)


@pytest.mark.parametrize(
    ("text", "java_hash"),
    [
        ("", 0),
        ("a", 97),
        ("group-1", 293427299),
        ("dae8e-02213-g0", -843880996),  # found by the differential run
        ("polygenelubricants", MIN_INT),  # the well-known String whose hashCode is MIN_VALUE
        ("\u00e9t\u00e9", 227742),  # UTF-16 code units, not UTF-8 bytes
        ("\U0001f600", 1772899),  # a surrogate pair counts as two units
    ],
)
def test_java_string_hash(text, java_hash):
    assert java_string_hash(text) == java_hash


def test_java_abs_maps_min_value_to_zero():
    assert java_abs(MIN_INT) == 0
    assert java_abs(-5) == 5 and java_abs(5) == 5 and java_abs(2**31 - 1) == 2**31 - 1


@pytest.mark.parametrize(
    ("key", "partitions", "partition"),
    [
        ("dae8e-02213-g0", 50, 46),  # Kafka's answer; masking the sign bit gave 2
        ("group-100", 50, 11),  # masking gave 37
        ("txn-10", 50, 38),  # masking gave 10
        ("polygenelubricants", 50, 0),
        ("a", 50, 47),
        ("dae8e-02213-g0", 1, 0),
    ],
)
def test_partition_for_follows_kafka(key, partitions, partition):
    assert partition_for(key, partitions) == partition
