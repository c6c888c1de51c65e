"""``partition.metadata``: the topic id of a partition directory, in Kafka's format::

    version: 0
    topic_id: <the 16 id bytes in URL-safe base64 without padding>

Written atomically when the partition is created; read back when the log is opened.
"""

from __future__ import annotations

import base64
import logging
import uuid
from pathlib import Path

from kpy.storage.files import atomic_write

log = logging.getLogger("kpy.storage")

FILE_NAME = "partition.metadata"


def encode_topic_id(topic_id: uuid.UUID) -> str:
    """Kafka's Uuid.toString: URL-safe base64 of the 16 bytes, without padding."""
    return base64.urlsafe_b64encode(topic_id.bytes).decode().rstrip("=")


def decode_topic_id(text: str) -> uuid.UUID:
    return uuid.UUID(bytes=base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def read_partition_metadata(directory: Path) -> uuid.UUID | None:
    """The topic id in ``partition.metadata`` (Kafka's format: ``version: 0`` then
    ``topic_id: <base64>``); None when the file is missing or unreadable."""
    try:
        fields = dict(
            line.split(": ", 1)
            for line in (directory / "partition.metadata").read_text().splitlines()
            if ": " in line
        )
        if fields.get("version") != "0":
            raise ValueError(f"unknown version {fields.get('version')!r}")
        return decode_topic_id(fields["topic_id"].strip())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as exc:
        log.warning("%s: unreadable partition.metadata (%s)", directory, exc)
        return None


def write_partition_metadata(directory: Path, topic_id: uuid.UUID) -> None:
    atomic_write(
        directory / FILE_NAME, f"version: 0\ntopic_id: {encode_topic_id(topic_id)}\n".encode()
    )
