"""The storage layer's typed error.

Every I/O failure of a log (a write, fsync, roll, read, retention or cleaning step that
raised OSError) and every operation on a log whose log dir is offline raises
KafkaStorageError. It is a KafkaError carrying KAFKA_STORAGE_ERROR, so dispatch answers it
with the request's own error response, partition by partition, as Kafka does for a
partition in an offline log dir.
"""

from __future__ import annotations

from kpy.protocol.error_codes import ErrorCode, KafkaError


class KafkaStorageError(KafkaError):
    code = ErrorCode.KAFKA_STORAGE_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.KAFKA_STORAGE_ERROR, message)
