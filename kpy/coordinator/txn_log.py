"""Transaction state records, as stored in the internal topic ``__transaction_state``.

Kafka's TransactionLog formats (internal-topics schemas): the key and the value are each an
int16 version followed by the struct; a null value is a tombstone (an expired id). One record
per transition, in partition ``partition_for(transactional_id, partitions)`` (offsets.py);
the last record of an id wins on replay.
"""

from __future__ import annotations

import struct

from kpy.coordinator.txn_state import TxnMetadata
from kpy.protocol import records
from kpy.protocol.internal import (
    TransactionLogKey,
    TransactionLogValue,
    TransactionLogValue_PartitionsSchema,
)

TRANSACTION_TOPIC = "__transaction_state"
_VERSION = struct.Struct(">h")
KEY_VERSION = 0
VALUE_VERSION = 0


def key_of(transactional_id: str) -> bytes:
    return _VERSION.pack(KEY_VERSION) + TransactionLogKey(transactional_id=transactional_id).encode(
        KEY_VERSION
    )


def transactional_id_of(key: bytes | None) -> str | None:
    """The transactional id of a record key; None for keys of other kinds."""
    if key is None or len(key) < 2 or _VERSION.unpack_from(key)[0] != KEY_VERSION:
        return None
    try:
        return TransactionLogKey.decode(key[2:], KEY_VERSION).transactional_id
    except Exception:  # a key kpy cannot read is left where it is
        return None


def record_of(txn: TxnMetadata) -> records.Record:
    by_topic: dict[str, list[int]] = {}
    for t, p in sorted(txn.partitions):
        by_topic.setdefault(t, []).append(p)
    value = TransactionLogValue(
        producer_id=txn.producer_id,
        producer_epoch=txn.producer_epoch,
        transaction_timeout_ms=txn.timeout_ms,
        transaction_status=txn.state,
        transaction_partitions=[
            TransactionLogValue_PartitionsSchema(topic=t, partition_ids=ps)
            for t, ps in by_topic.items()
        ],
        transaction_last_update_timestamp_ms=txn.last_update_ms,
        transaction_start_timestamp_ms=txn.start_ms,
    )
    return records.Record(
        key_of(txn.transactional_id),
        _VERSION.pack(VALUE_VERSION) + value.encode(VALUE_VERSION),
        [],
    )


def tombstone(transactional_id: str) -> records.Record:
    return records.Record(key_of(transactional_id), None, [])


def decode(rec: records.Record) -> tuple[str, TxnMetadata | None] | None:
    """(transactional id, its state or None for a tombstone); None for other records."""
    tid = transactional_id_of(rec.key)
    if tid is None:
        return None
    if rec.value is None:
        return tid, None
    (vv,) = _VERSION.unpack_from(rec.value)
    v = TransactionLogValue.decode(rec.value[2:], vv)
    return tid, TxnMetadata(
        tid,
        v.producer_id,
        v.producer_epoch,
        v.transaction_timeout_ms,
        v.transaction_status,
        {(t.topic, p) for t in v.transaction_partitions or [] for p in t.partition_ids},
        v.transaction_start_timestamp_ms,
        v.transaction_last_update_timestamp_ms,
    )
