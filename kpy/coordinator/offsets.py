"""Committed offsets and group metadata, stored in the internal topic ``__consumer_offsets``.

Records use Kafka's own formats (internal-topics schemas): each key and value is an int16
version followed by the struct. Keys of version 0/1 are OffsetCommitKey, version 2 is
GroupMetadataKey, version 3 ConsumerGroupMetadataKey (a KIP-848 group and its epoch; kpy
keeps no other record of those groups); a null value is a tombstone. A group's records go to partition
``abs(java_hash(group_id)) % offsets.topic.num.partitions``, as in Kafka, so the topic
written by kpy reads like Kafka's.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import Any

from kpy.protocol import records
from kpy.protocol.internal import (
    ConsumerGroupMetadataKey,
    ConsumerGroupMetadataValue,
    GroupMetadataKey,
    GroupMetadataValue,
    OffsetCommitKey,
    OffsetCommitValue,
)
from kpy.protocol.records import Record

log = logging.getLogger("kpy.coordinator")

OFFSETS_TOPIC = "__consumer_offsets"
OFFSET_KEY_VERSION = 1
OFFSET_VALUE_VERSION = 3
GROUP_KEY_VERSION = 2
GROUP_VALUE_VERSION = 3
CONSUMER_GROUP_KEY_VERSION = 3
CONSUMER_GROUP_VALUE_VERSION = 0
_VERSION = struct.Struct(">h")


def java_string_hash(s: str) -> int:
    """Java's String.hashCode over UTF-16 code units, as a signed 32-bit int."""
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def java_hash_order(keys: list[Any], hashes: list[int], capacity: int = 16) -> list[Any]:
    """``keys`` (distinct, in insertion order) in the order a java.util.HashMap or HashSet
    of them iterates: by bucket (the spread hash masked by the table size), insertion order
    within a bucket. ``capacity`` is the table's initial size (a power of two), which doubles
    whenever the entries exceed three quarters of it."""
    while len(keys) > capacity * 3 // 4:
        capacity *= 2

    def bucket(h: int) -> int:
        h &= 0xFFFFFFFF
        return (h ^ (h >> 16)) & (capacity - 1)

    order = sorted(range(len(keys)), key=lambda i: bucket(hashes[i]))
    return [keys[i] for i in order]


def java_abs(n: int) -> int:
    """Kafka's Utils.abs of a signed 32-bit int: Integer.MIN_VALUE, whose negation
    overflows, is 0."""
    return 0 if n == -(1 << 31) else abs(n)


def partition_for(key: str, partitions: int) -> int:
    """The partition of __consumer_offsets or __transaction_state that holds the records of
    a group or transactional id: Utils.abs(hashCode) % partitions, as in Kafka.

    kpy before this masked the sign bit instead (``h & 0x7fffffff``), which differs for
    every id whose hash is negative; records it wrote there are still read on start-up
    (see ``runtime.replay_internal``)."""
    return java_abs(java_string_hash(key)) % partitions


@dataclass(slots=True)
class CommittedOffset:
    offset: int
    leader_epoch: int
    metadata: str | None
    commit_timestamp: int


def _versioned(version: int, obj: Any) -> bytes:
    return _VERSION.pack(version) + obj.encode(version)


def offset_record(group: str, topic: str, partition: int, value: CommittedOffset | None) -> Record:
    key = _versioned(
        OFFSET_KEY_VERSION, OffsetCommitKey(group=group, topic=topic, partition=partition)
    )
    if value is None:
        return Record(key, None, [])
    body = OffsetCommitValue(
        offset=value.offset,
        leader_epoch=value.leader_epoch,
        metadata=value.metadata or "",
        commit_timestamp=value.commit_timestamp,
    )
    return Record(key, _versioned(OFFSET_VALUE_VERSION, body), [])


def group_record(group: str, value: GroupMetadataValue | None) -> Record:
    key = _versioned(GROUP_KEY_VERSION, GroupMetadataKey(group=group))
    return Record(key, None if value is None else _versioned(GROUP_VALUE_VERSION, value), [])


def consumer_group_record(group: str, epoch: int | None) -> Record:
    """A KIP-848 group at ``epoch``; None: the group was deleted."""
    key = _versioned(CONSUMER_GROUP_KEY_VERSION, ConsumerGroupMetadataKey(group_id=group))
    if epoch is None:
        return Record(key, None, [])
    value = ConsumerGroupMetadataValue(epoch=epoch)
    return Record(key, _versioned(CONSUMER_GROUP_VALUE_VERSION, value), [])


def batch_of(recs: list[Record], timestamp_ms: int) -> bytearray:
    for i, r in enumerate(recs):
        r.offset_delta = i
    return records.build_batch(recs, base_timestamp=timestamp_ms)


@dataclass(slots=True)
class LoadedRecord:
    kind: str  # "offset" | "group" | "consumer-group" (group_value: its epoch)
    group: str
    topic: str = ""
    partition: int = -1
    offset: CommittedOffset | None = None
    group_value: Any = None


def group_of_key(key: bytes | None) -> str | None:
    """The group id a __consumer_offsets record key belongs to; None for unknown keys."""
    if key is None or len(key) < 2:
        return None
    (kv,) = _VERSION.unpack_from(key)
    body = key[2:]
    try:
        if kv in (0, 1):
            return OffsetCommitKey.decode(body, kv).group
        if kv == 2:
            return GroupMetadataKey.decode(body, kv).group
        if kv == CONSUMER_GROUP_KEY_VERSION:
            return ConsumerGroupMetadataKey.decode(body, kv).group_id
    except Exception:  # a key kpy cannot read is left where it is
        return None
    return None


def decode_record(r: Record) -> LoadedRecord | None:
    """Decode one __consumer_offsets record; None for record types kpy does not use."""
    if r.key is None or len(r.key) < 2:
        return None
    (kv,) = _VERSION.unpack_from(r.key)
    key_body = r.key[2:]
    if kv in (0, 1):
        k = OffsetCommitKey.decode(key_body, kv)
        if r.value is None:
            return LoadedRecord("offset", k.group, k.topic, k.partition, None)
        (vv,) = _VERSION.unpack_from(r.value)
        v = OffsetCommitValue.decode(r.value[2:], vv)
        metadata = v.metadata
        return LoadedRecord(
            "offset",
            k.group,
            k.topic,
            k.partition,
            CommittedOffset(v.offset, v.leader_epoch, metadata, v.commit_timestamp),
        )
    if kv == 2:
        gk = GroupMetadataKey.decode(key_body, kv)
        if r.value is None:
            return LoadedRecord("group", gk.group)
        (vv,) = _VERSION.unpack_from(r.value)
        return LoadedRecord(
            "group", gk.group, group_value=GroupMetadataValue.decode(r.value[2:], vv)
        )
    if kv == CONSUMER_GROUP_KEY_VERSION:
        ck = ConsumerGroupMetadataKey.decode(key_body, kv)
        if r.value is None:
            return LoadedRecord("consumer-group", ck.group_id)
        (vv,) = _VERSION.unpack_from(r.value)
        value = ConsumerGroupMetadataValue.decode(r.value[2:], vv)
        return LoadedRecord("consumer-group", ck.group_id, group_value=value.epoch)
    return None
